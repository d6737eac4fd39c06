"""The house's layout, read from the code's own imports and definitions (nothing is run):
which module imports which, the circles among them, the direction of every dependency, and
each module's size. tests/test_layout.py holds the rules; for a look at the whole graph:

    uv run python -m tests.layout            # circles, broken rules, the largest modules
"""

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "accounts", "schools", "stations", "announcements", "mail")

# What a module is, by its name: the interface (entry points that answer people or
# operators), forms, services (the only place that changes state that matters), models.
ENTRY_POINT = re.compile(r"\.(views|admin|urls|tasks|middleware)(\.|$)|\.management\.commands\.")
VIEWS = re.compile(r"\.views(\.|$)")
FORMS = re.compile(r"\.(forms|fields)$")
SERVICES = re.compile(r"\.services(\.|$)|^mail\.(outbox|resend|messages)$")
MODELS = re.compile(r"\.models$")


@dataclass
class Module:
    name: str
    path: Path
    imports: dict[str, int] = field(default_factory=dict)  # module -> first line
    code_lines: int = 0


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Module]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            modules[module_name(path)] = Module(module_name(path), path)
    return modules


def _resolve(name: str, modules) -> str | None:
    """The project module an imported name belongs to (the longest known prefix)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _code_lines(tree: ast.Module, source: str) -> int:
    """Lines that hold code: not blank, not comments, not docstrings."""
    lines = set()
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if text and not text.startswith("#") and number not in docstrings:
            lines.add(number)
    return len(lines)


def read(modules=None) -> dict[str, Module]:
    """Every project module with what it imports (at module level or inside a function: a
    late import is a dependency too)."""
    modules = modules or project_modules()
    for module in modules.values():
        source = module.path.read_text()
        tree = ast.parse(source)
        module.code_lines = _code_lines(tree, source)
        is_package = module.path.name == "__init__.py"
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module.name if is_package else module.name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}".strip(".")
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                target = _resolve(name, modules)
                if target and target != module.name:
                    module.imports.setdefault(target, node.lineno)
    return modules


def circles(modules) -> list[list[str]]:
    """The import graph's strongly connected components of more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(name):
        index[name] = low[name] = counter[0]
        counter[0] += 1
        stack.append(name)
        on_stack.add(name)
        for target in modules[name].imports:
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


def app_of(name: str) -> str:
    return name.split(".")[0]


def broken_directions(modules) -> list[str]:
    """Dependencies that point the wrong way (views -> forms -> services -> models)."""
    problems = []
    for module in modules.values():
        for target, line in module.imports.items():
            where = f"{module.path.relative_to(ROOT)}:{line} imports {target}"
            own_app = app_of(target) == app_of(module.name)
            if VIEWS.search(target) and not (
                module.name.endswith("urls") or (VIEWS.search(module.name) and own_app)
            ):
                problems.append(f"{where}: only URL confs (and the app's own views) use views")
            elif ENTRY_POINT.search(target) and not VIEWS.search(target):
                if not (module.name.endswith("urls") or module.name == "portal.urls"):
                    problems.append(
                        f"{where}: an entry point (admin, urls, tasks, middleware, "
                        "command) is imported by nothing but a URL conf"
                    )
            elif SERVICES.search(module.name) and FORMS.search(target):
                problems.append(f"{where}: services never import forms")
            elif MODELS.search(module.name) and (SERVICES.search(target) or FORMS.search(target)):
                problems.append(f"{where}: models never import services or forms")
    return problems


def oversized(modules, limit=400) -> dict[str, int]:
    return {
        name: module.code_lines for name, module in modules.items() if module.code_lines > limit
    }


def main() -> int:
    modules = read()
    found = circles(modules)
    problems = broken_directions(modules)
    print(f"{len(modules)} modules, {sum(len(m.imports) for m in modules.values())} imports")
    for component in found:
        print("circle:", " -> ".join(component))
    for problem in problems:
        print(problem)
    largest = sorted(modules.values(), key=lambda module: -module.code_lines)[:8]
    print("largest (lines of code):", ", ".join(f"{m.name} {m.code_lines}" for m in largest))
    return 1 if found or problems else 0


if __name__ == "__main__":
    sys.exit(main())
