"""Chromium for the browser journeys, with axe-core checking every page they visit.

Every journey runs twice, on a desktop window and on a 390 px phone (the ``page`` fixture's
two parameters). Each document a page loads is checked with axe-core's WCAG 2.2 A/AA rules
before the test's next step touches the page (and once more at the end for the last one): a
violation fails the test with the rule, the elements and the address. axe-core comes from
npm (tests/browser/package.json and its lock file), installed into tests/browser/node_modules
when it is missing, and is put into each page by Chromium itself: nothing is fetched while
the tests run."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
HERE = Path(__file__).resolve().parent
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe-core's tags; 2.2 added only AA rules).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

VIEWPORTS = {
    "desktop": {"width": 1200, "height": 900},
    "390px": {"width": 390, "height": 844},
}


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium): skipped")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread while the browser is open; the
    # tests' own ORM calls (and the database flush after them) are ordinary blocking calls,
    # which Django would refuse inside a loop. Allowed only while the browser is open: the
    # variable must never reach the rest of the suite (a deployment check refuses it).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def install_axe() -> None:
    """``npm ci`` in tests/browser: axe-core at the version of the committed lock file."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "axe-core is not installed and npm is missing: install Node.js and npm "
            "(apt-get install npm), then run `npm ci --prefix tests/browser`"
        )
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 or not AXE_SCRIPT.exists():
        pytest.fail(f"`npm ci --prefix tests/browser` failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def axe_script() -> str:
    if not AXE_SCRIPT.exists():
        install_axe()
    return AXE_SCRIPT.read_text()


class AccessibilityViolation(AssertionError):
    pass


def describe_violations(url: str, viewport: str, violations: list) -> str:
    lines = [f"axe-core found {len(violations)} WCAG 2.2 A/AA violation(s) on {url} ({viewport}):"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary']}")
    return "\n".join(lines)


class CheckedPage:
    """A Playwright page that runs axe-core on each document it loads.

    The ``load`` event only notes that a new document is there; the check itself runs when
    the test next reaches for the page (any attribute: ``page.fill``, ``page.locator``,
    ``page.content``...), so it never races the test's own steps, and it sees the page as
    the person sees it on arrival (a form in its error state, a result just shown). A check
    that a navigation of the page's own interrupts is tried again on the new document."""

    def __init__(self, page, viewport: str):
        self._page = page
        self._viewport = viewport
        self._loaded = False
        self.checked_urls: list[str] = []
        page.on("load", self._on_load)

    def _on_load(self, _page):
        self._loaded = True

    def __getattr__(self, name):
        self.check_loaded_page()
        return getattr(self._page, name)

    def check_loaded_page(self):
        if self._loaded:
            self.check_accessibility()

    def check_accessibility(self):
        """Run axe-core on the document shown now; raise on any WCAG 2.2 A/AA violation."""
        from playwright.sync_api import Error

        self._loaded = False
        for attempt in range(3):
            try:
                self._page.wait_for_load_state("load")
                violations = self._page.evaluate(
                    """async (tags) => {
                        const result = await axe.run(document, {
                            runOnly: {type: "tag", values: tags},
                            resultTypes: ["violations"],
                        });
                        return result.violations;
                    }""",
                    WCAG_TAGS,
                )
                break
            except Error as error:  # the page navigated away during the check
                if attempt == 2 or "context was destroyed" not in str(error):
                    raise
        url = self._page.url
        self.checked_urls.append(url)
        if violations:
            raise AccessibilityViolation(describe_violations(url, self._viewport, violations))


@pytest.fixture
def open_page(browser, axe_script):
    """Opens a page of its own (another person, or a given viewport) in a new context, with
    every document it loads checked by axe-core; checked once more and closed at the end."""
    contexts = []

    def open_(viewport: str = "desktop") -> CheckedPage:
        context = browser.new_context(locale="zh-TW", viewport=VIEWPORTS[viewport])
        context.add_init_script(script=axe_script)
        page = CheckedPage(context.new_page(), viewport)
        contexts.append((context, page))
        return page

    yield open_
    try:
        for _context, page in contexts:
            page.check_loaded_page()
    finally:
        for context, _page in contexts:
            context.close()


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request) -> str:
    """The journey's screen: a desktop window, then a 390 px phone."""
    return request.param


@pytest.fixture
def page(open_page, viewport):
    return open_page(viewport)


@pytest.fixture
def screenshot(page, viewport):
    """Saves a full-page screenshot of ``page`` (or of another page, ``of=``) as var/screenshots/
    NAME.png on the desktop and NAME-390.png on the phone."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name, of=None):
        suffix = "" if viewport == "desktop" else "-" + viewport.removesuffix("px")
        path = SCREENSHOTS / f"{name}{suffix}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path

    return take
