"""Browser tests: Playwright drives Debian's Chromium against the project served by gunicorn
on its own copy of the database, filled with the demo (``tests.support.browser``).

One site per test process (module scope would book the demo again for each module): the
tests only read and act through the browser and the site's child processes, never through
the test process's database. They are ``postgres`` tests (a child process cannot open the
pytest database on SQLite) and ``browser`` tests; without Chromium they fail under
``CI=true`` and are skipped on a developer's machine (``apt-get install chromium``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.browser import ADMIN, DemoSite, chromium_path, screenshots_dir

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop. The tests touch the site's database through child processes
# only, but fixtures of the shared conftest (reconcile after django_db tests) may run here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))
            # pytest-django creates the test database only for the aliases tests ask for
            item.add_marker(pytest.mark.django_db)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("needs Debian's Chromium: apt-get install chromium chromium-driver")
    return path


@pytest.fixture(scope="session")
def site(django_db_setup: Any, django_db_blocker: Any) -> Iterator[DemoSite]:
    with django_db_blocker.unblock():
        served = DemoSite().start()
    try:
        yield served
    finally:
        with django_db_blocker.unblock():
            served.stop()


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Any, site: DemoSite) -> Iterator[Callable[..., Any]]:
    """A fresh browser context (no cookies) per call, 1280x900, closed after the test."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], None]:
    def take(page: Any, name: str) -> None:
        page.screenshot(path=str(screenshots_dir() / f"{name}.png"), full_page=True)

    return take


__all__ = ["ADMIN"]
