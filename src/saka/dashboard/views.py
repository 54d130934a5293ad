"""The staff dashboard's views: the page, its live JSON, a run's per-wallet CSV.

Session authentication (the reference project's log-in page): an anonymous visitor is sent to
``settings.LOGIN_URL``; a logged-in user without ``audit.view_staff_data`` (an active staff
user holding it: ``saka.audit.roles.actor_allowed``) gets the 403 page. Reads only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from saka.dashboard.access import staff_view
from saka.dashboard.panels import panels
from saka.dashboard.panels import runs_live as runs_live_data
from saka.dashboard.policy import policy_panel
from saka.grains.economy import EXPORT_COLUMNS, run_wallet_rows
from saka.grains.errors import RunNotFound
from saka.grains.selectors import run_get


@require_GET
@staff_view
def dashboard(request: HttpRequest) -> HttpResponse:
    data = {**panels(), "policy": policy_panel(request.user)}
    return render(request, "saka_dashboard/index.html", {"panels": data})


@require_GET
@staff_view
def runs_live(request: HttpRequest) -> HttpResponse:
    """The runs under way (polled by ``dashboard.js`` every 2 s): chunks done per worker."""
    return JsonResponse(runs_live_data())


class _Echo:
    """A file whose ``write`` returns the line: ``csv.writer`` formats, the response streams."""

    def write(self, value: str) -> str:
        return value


def run_wallets_csv_lines(*, run_id: int) -> Iterator[str]:
    """The CSV's lines, header first (the view streams them; the benchmark times them)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for row in run_wallet_rows(run_id=run_id):
        yield writer.writerow(row)


@require_GET
@staff_view
def run_wallets_csv(request: HttpRequest, run_id: int) -> HttpResponseBase:
    """Every wallet the live run composted or credited, one CSV row each, streamed: rows are
    read 10,000 at a time by wallet id (``saka.grains.economy.run_wallet_rows``), so memory
    stays flat at any size."""
    try:
        run = run_get(run_id=run_id)
    except RunNotFound:
        return HttpResponse("No such run.", status=404, content_type="text/plain")
    response = StreamingHttpResponse(
        run_wallets_csv_lines(run_id=run.pk), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="run-{run.pk}-{run.kind}-{run.period}-wallets.csv"'
    )
    return response
