"""What every browser journey shares: Debian's Chromium driven by Playwright, the `browser` mark, a broker
that keeps the tasks in the process, and a person signed in through the login form.

A missing Chromium or Playwright fails the journeys, it never skips them: a skipped journey reads as green
in CI while the product's pages went untested. Someone without Chromium deselects them on purpose with
`-m "not browser"` (and `.ci/run` fails if any browser test was skipped or deselected).
"""

import importlib
import os
import shutil
from pathlib import Path

import pytest
from django.core.cache import cache

from smarketing.celery import app as celery_app
from tests.factories import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(items):
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def browser(monkeypatch):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"The browser journeys need Debian's chromium at {CHROMIUM} (apt-get install chromium); "
                    "deselect them with -m 'not browser' to run the rest without it.", pytrace=False)
    try:
        from playwright import sync_api as playwright
    except ImportError:
        pytest.fail("The browser journeys need Playwright for Python (pip install -e '.[dev]').", pytrace=False)
    # Playwright's sync API runs an event loop in this thread, which makes Django refuse ORM calls from the
    # test body; allowed for this test only (monkeypatch restores the environment, which check --deploy reads).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # With REDIS_URL the cache outlives a test: the login rate limit and the dashboards' one-minute views of
    # an earlier journey (another database) would leak into this one.
    cache.clear()
    yield
    cache.clear()


class Worker:
    """The Celery broker as the boundary: what the app sends is kept here, and `run()` does what a worker
    would, in this process. Nothing reaches the machine's Redis or the file-system broker of `make run`."""

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []

    def send_task(self, name, args=None, kwargs=None, **options):
        self.sent.append((name, dict(kwargs or {})))

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]

    def run(self, prefix: str = "") -> list[str]:
        """Runs the waiting tasks whose name starts with `prefix`, and what they send in turn; returns their names."""
        done = []
        while batch := [item for item in self.sent if item[0].startswith(prefix)]:
            for item in batch:
                self.sent.remove(item)
                name, kwargs = item
                if name not in celery_app.tasks:  # sent by name from a module nothing imported yet
                    importlib.import_module(name.rsplit(".", 1)[0])
                celery_app.tasks[name].apply(kwargs=kwargs, throw=True)
                done.append(name)
        return done


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    # Task.apply_async and smarketing.tasks.enqueue both end in app.send_task when not eager.
    recorder = Worker()
    monkeypatch.setattr(celery_app, "send_task", recorder.send_task)
    return recorder


class Session:
    """One person in their own browser context (own cookies), signed in through the login form."""

    def __init__(self, browser, live_server, email: str, password: str = PASSWORD):
        self.base = live_server.url
        self.context = browser.new_context(viewport={"width": 1366, "height": 900})
        self.page = self.context.new_page()
        # Chromium logs each refusal of the Content-Security-Policy on the console, on every page of the tab.
        self.csp_refusals: list[str] = []
        self.page.on("console", lambda message: self.csp_refusals.append(f"{self.page.url}: {message.text}")
                     if "Content Security Policy" in message.text else None)
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.fill("input[name=username]", email)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.base}/")

    def open(self, path: str):
        self.page.goto(f"{self.base}{path}")
        return self.page

    def shot(self, name: str) -> None:
        """SCREENSHOTS=/some/dir keeps a full-page screenshot of each step."""
        folder = os.environ.get("SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=f"{folder}/{name}.png", full_page=True)


@pytest.fixture
def sign_in(browser, live_server):
    """sign_in(email) is a new browser context signed in as that person. Every page the journey opened
    must have run under the Content-Security-Policy without a refusal (a refused script is a dead button)."""
    sessions: list[Session] = []

    def open_session(email: str, password: str = PASSWORD) -> Session:
        sessions.append(Session(browser, live_server, email, password))
        return sessions[-1]

    yield open_session
    # Closed before the database is flushed: a page still polling (the bell, an import's progress) must not
    # reach the live server while the next test's data is being set up.
    for session in sessions:
        session.context.close()
    refusals = [refusal for session in sessions for refusal in session.csp_refusals]
    assert not refusals, "The Content-Security-Policy refused something:\n" + "\n".join(refusals)
