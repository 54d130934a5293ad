"""The staff dashboard in Chromium: the demo's admin logs in and every chart is drawn by
Chart.js (the npm package served as a static file) with the demo's data, with no script
error; a live run's progress advances on the page without a reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.browser import ADMIN, DemoSite

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


# the values each chart draws (every dataset's points), read from Chart.js itself
CHART_VALUES = """(name) => {
  const canvas = document.querySelector(`[data-panel='${name}'] canvas`);
  const chart = window.Chart.getChart(canvas);
  const points = chart.data.datasets.flatMap((d) => d.data);
  return points.map((v) => (v && typeof v === "object" ? v.y : v));
}"""

# a live compost of next week's period in about 40 chunks (the account ids start wherever the
# test database's sequence was: chunks are key ranges from 0), slowed after each chunk so
# that the page's 2-second poll sees it advance
SLOW_RUN = """
import time
from datetime import timedelta
from saka.core.clock import now
from saka.grains.models import SakaAccount
from saka.grains.runs.compost import compost_run_start
top = SakaAccount.objects.order_by("-id").values_list("id", flat=True).first()
run = compost_run_start(
    as_of=now() + timedelta(days=7), chunk_size=min(max(1, top // 40 + 1), 1_000_000), workers=1,
    progress=lambda run: time.sleep(0.4),
)
print(run.status, run.chunks_done)
"""


def _staff_page(new_page: Callable[..., Any]) -> Any:
    page = new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.get_by_test_id("login-submit").click()
    page.wait_for_url("**/dashboard/")
    return page


def test_staff_sees_every_chart_drawn(
    new_page: Callable[..., Any], screenshot: Callable[[Any, str], None]
) -> None:
    # given the demo's admin logged in through the log-in page (it lands on the dashboard)
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.get_by_test_id("login-submit").click()
    page.wait_for_url("**/dashboard/")
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
    # and each chart draws the demo's figures: points, and a non-zero one (the share of
    # supply composted may be 0 in a month without compost: points are enough there)
    for name in CHARTS:
        values = [v for v in page.evaluate(CHART_VALUES, name) if v is not None]
        assert values, name
        if name != "compost_share":
            assert any(v != 0 for v in values), (name, values)
    screenshot(page, "dashboard")


def test_a_live_run_advances_on_the_page_without_a_reload(
    new_page: Callable[..., Any], site: DemoSite, screenshot: Callable[[Any, str], None]
) -> None:
    # given the dashboard open, marked so that a reload would show
    page = _staff_page(new_page)
    page.evaluate("window.__not_reloaded = true")
    # when a live run starts in another process and does its chunks slowly
    run = site.django_background(SLOW_RUN)
    try:
        bar = page.locator("[data-panel='runs'] .live .progress").first
        bar.wait_for(timeout=60_000)
        first = _chunks_done(bar.locator(".count").inner_text())
        # then the page shows more chunks done a poll later, on the same document
        page.wait_for_function(
            """(first) => {
              const count = document.querySelector("[data-panel='runs'] .live .progress .count");
              return count && parseInt(count.textContent, 10) > first;
            }""",
            arg=first,
            timeout=30_000,
        )
        assert page.evaluate("window.__not_reloaded") is True
        assert "per worker" in bar.locator(".workers").inner_text()
        screenshot(page, "dashboard-live-run")
    finally:
        out, _ = run.communicate(timeout=300)
    # and the run finished (the bar goes when no run is under way)
    assert run.returncode == 0, out
    assert out.split()[-2] == "done", out
    page.wait_for_function(
        "() => !document.querySelector(\"[data-panel='runs'] .live .progress\")",
        timeout=30_000,
    )


def _chunks_done(text: str) -> int:
    return int(text.split("/")[0].strip())


def test_a_whatif_from_the_policy_lab_then_a_version_to_come(
    new_page: Callable[..., Any], screenshot: Callable[[Any, str], None]
) -> None:
    # given the demo's admin (a superuser: a policy maker too) on the dashboard
    page = _staff_page(new_page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    panel = page.locator("[data-panel='whatif']")
    # when they ask what a 20 % compost rate would do
    panel.locator("input[name=compost_rate]").fill("0.20")
    with page.expect_response(lambda r: r.url.endswith("/dashboard/policy/whatif.json")) as asked:
        panel.get_by_role("button", name="Run the what-if").click()
    page.wait_for_selector("[data-panel='whatif'][data-ready='1']", state="attached")
    # then the server computed the candidate, and the page shows both sides' figures
    assert asked.value.status == 201
    body = asked.value.json()
    assert body["parameters"]["compost_rate"] == "0.20"
    cells = panel.locator(".whatif-result tbody tr").nth(1).locator("td")
    shown = [int(cells.nth(i).inner_text().replace(",", "")) for i in (0, 1)]
    result = body["result"]
    assert shown == [
        result["baseline"]["compost"]["grains"],
        result["candidate"]["compost"]["grains"],
    ]
    assert result["candidate"]["compost"]["grains"] >= 2 * result["baseline"]["compost"]["grains"]
    counted = panel.locator(".whatif-result tbody tr").nth(4).locator("td").nth(1).inner_text()
    assert (
        int(counted.replace(",", "")) == result["candidate"]["redistribution"]["eligible_wallets"]
    )
    assert "members would start composting" in panel.locator(".whatif-difference").inner_text()
    screenshot(page, "dashboard-policy-lab")
    # and they put it in force from a far date (the demo's other pages keep today's rules)
    panel.locator("input[name=reason]").fill("browser test")
    panel.locator("input[name=effective_at]").fill("2999-01-04T03:00:00Z")
    panel.get_by_role("button", name="Put these parameters in force").click()
    result = panel.locator(".change-result")
    result.wait_for()
    assert result.inner_text().startswith("Version ")
    assert errors == []


def test_the_season_simulator_draws_its_weeks(new_page: Callable[..., Any]) -> None:
    # given the dashboard's simulator panel
    page = _staff_page(new_page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    form = page.locator("[data-panel='simulator'] form")
    # when 8 weeks are simulated on 2,000 synthetic wallets at a 20 % compost rate
    form.locator("input[name=weeks]").fill("8")
    form.locator("input[name=synthetic]").fill("2000")
    form.locator("input[name=compost_rate]").fill("0.20")
    with page.expect_response(lambda r: r.url.endswith("/dashboard/simulation.json")) as asked:
        form.get_by_role("button", name="Simulate").click()
    page.wait_for_selector("[data-panel='simulator'] canvas[data-ready='1']", state="attached")
    # then the server simulated those weeks, and the chart draws one point per week per line
    assert asked.value.status == 200, asked.value.text()
    weeks = asked.value.json()["weeks"]
    assert len(weeks) == 8
    points = page.evaluate(
        CHART_VALUES.replace("[data-panel='${name}']", "[data-panel='simulator']"), "x"
    )
    assert len(points) == 8 * 6
    assert "2000 wallets (synthetic), 8 weeks, compost 0.20" in form.locator(".status").inner_text()
    assert errors == []
