"""The staff dashboard in Chromium: the demo's admin logs in and every chart is drawn by
Chart.js (the npm package served as a static file), with no script error; the live runs'
JSON is polled without a reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.browser import ADMIN

CHARTS = (
    "silo",
    "compost",
    "redistribution",
    "compost_share",
    "runs",
    "balances",
    "daily",
    "projects",
    "deposits",
    "campaigns",
)


def test_staff_sees_every_chart_drawn(
    new_page: Callable[..., Any], screenshot: Callable[[Any, str], None]
) -> None:
    # given the demo's admin logged in (the session the dashboard reads)
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto("/admin/login/")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    # when the dashboard is opened
    with page.expect_response(lambda r: r.url.endswith("/dashboard/runs/live.json")) as live:
        page.goto("/dashboard/")
        for name in CHARTS:
            page.wait_for_selector(
                f"[data-panel='{name}'] canvas[data-ready='1']", state="attached"
            )
    # then every chart is drawn, the live JSON answered, no script failed, nothing the page
    # asked for is missing (but the favicon the browser asks of every site)
    assert live.value.status == 200
    assert page.locator("[data-panel='pockets'][data-ready='1']").count() == 1
    assert errors == []
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    screenshot(page, "dashboard")
