"""The house's layout (docs/architecture.md): no import circle, dependencies one way, modules
of a readable size, and no view, form or admin class that writes a model itself. The import
rules read the code (tests/layout.py); the write rule watches every test (tests/write_guard.py)."""

import pytest
from django.db import transaction

from schools.models import Unit
from tests import layout
from tests.conftest import make_account
from tests.write_guard import WriteOutsideServices

# Modules allowed past about 400 lines of code, each one cohesive thing that reads better whole.
LONG_ON_PURPOSE = {
    "portal.settings": "the one settings module, read from the environment (house style)",
}


@pytest.fixture(scope="module")
def modules():
    return layout.read()


def test_no_module_imports_another_in_a_circle(modules):
    assert layout.circles(modules) == []


def test_a_circle_of_imports_would_be_found():
    graph = {
        name: layout.Module(name, layout.ROOT / "x.py", imports=dict.fromkeys(targets, 1))
        for name, targets in {
            "accounts.services.a": ["accounts.services.b"],
            "accounts.services.b": ["accounts.models"],
            "accounts.models": ["accounts.services.a"],
            "accounts.views.c": ["accounts.services.a"],
        }.items()
    }
    assert layout.circles(graph) == [
        ["accounts.models", "accounts.services.a", "accounts.services.b"]
    ]


def test_dependencies_point_one_way(modules):
    assert layout.broken_directions(modules) == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("accounts.services.sign_in", "accounts.views.sign_in"),
        ("schools.views.transfer", "accounts.views.sign_in"),
        ("accounts.services.sign_in", "accounts.forms"),
        ("accounts.models", "accounts.services.sign_in"),
        ("accounts.services.public_requests", "accounts.tasks"),
        ("mail.outbox", "accounts.admin"),
    ],
)
def test_a_dependency_the_wrong_way_would_be_found(importer, imported):
    graph = {
        importer: layout.Module(importer, layout.ROOT / "x.py", imports={imported: 7}),
        imported: layout.Module(imported, layout.ROOT / "y.py"),
    }
    assert len(layout.broken_directions(graph)) == 1


def test_no_module_is_much_over_400_lines_of_code(modules):
    assert set(layout.oversized(modules)) <= set(LONG_ON_PURPOSE)


def _module_named(name, source, **names):
    """Code run as if it lived in the module ``name`` (the write guard goes by module)."""
    namespace = {"__name__": name, "Unit": Unit, **names}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102
    return namespace


WRITES = {
    "a manager's create": (
        "def act(unit):\n    Unit.objects.create(code='099999', name='測試', side='school')\n"
    ),
    "an overridden save (Account.save)": (
        "def act(unit):\n    account = unit.accounts.get()\n"
        "    account.full_name = '改名'\n    account.save(update_fields=['full_name'])\n"
    ),
    "a queryset's update": (
        "def act(unit):\n    Unit.objects.filter(pk=unit.pk).update(name='改名')\n"
    ),
}


@pytest.fixture
def unit(db):
    unit = Unit.objects.create(code="099998", name="原名", side="school")
    make_account(unit, "teacher01", full_name="原名")
    return unit


@pytest.mark.django_db
@pytest.mark.parametrize("write", WRITES.values(), ids=list(WRITES))
@pytest.mark.parametrize(
    "name", ["schools.views.example", "accounts.forms", "stations.admin", "accounts.views"]
)
def test_a_view_form_or_admin_class_writing_a_model_fails_the_test(
    name, write, unit, writes_only_through_services
):
    with pytest.raises(WriteOutsideServices, match=name), transaction.atomic():
        _module_named(name, write)["act"](unit)
    unit.refresh_from_db()
    assert unit.name == "原名" and not Unit.objects.filter(code="099999").exists()
    assert unit.accounts.get().full_name == "原名"
    assert len(writes_only_through_services.violations) == 1
    writes_only_through_services.violations.clear()  # seen: this test's own doing


@pytest.mark.django_db
def test_a_generic_view_of_ours_saving_a_model_form_fails_the_test(
    unit, writes_only_through_services, rf
):
    source = (
        "from django import forms\n"
        "from django.views.generic import UpdateView\n"
        "class UnitForm(forms.ModelForm):\n"
        "    class Meta:\n"
        "        model = Unit\n"
        "        fields = ['name']\n"
        "class Rename(UpdateView):\n"
        "    model = Unit\n"
        "    form_class = UnitForm\n"
        "    success_url = '/'\n"
    )
    view = _module_named("schools.views.example", source)["Rename"].as_view()
    request = rf.post("/", {"name": "改名"})
    with pytest.raises(WriteOutsideServices, match="schools.views.example"), transaction.atomic():
        view(request, pk=unit.pk)
    writes_only_through_services.violations.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("write", WRITES.values(), ids=list(WRITES))
def test_the_same_write_through_a_service_passes(write, unit):
    service = _module_named("schools.services.example", write)
    view = _module_named("schools.views.example", "def view(service, unit):\n    service(unit)\n")
    view["view"](service["act"], unit)


def test_the_map_names_files_and_functions_that_exist():
    """docs/architecture.md's table of rules: every file it names exists and holds every
    function or class named with it."""
    import re

    doc = (layout.ROOT / "docs" / "architecture.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| ") and ".py`" in line]
    assert len(rows) > 20
    for row in rows:
        paths = [p for p in re.findall(r"`([a-z_/]+\.py)`", row) if "/" in p]
        if not paths:
            continue  # the table of apps
        sources = [(layout.ROOT / path).read_text() for path in paths]
        for name in re.findall(r"`([A-Za-z_]+)`", row):
            pattern = rf"\b(def|class) {name}\b|^{name} ="
            assert any(re.search(pattern, source, re.M) for source in sources), (name, paths)
