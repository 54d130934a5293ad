"""The staff dashboard's views: the page, its live JSON, a run's per-wallet CSV, the season
simulator's JSON (a POST that writes nothing, CSRF-protected like every session form).

Session authentication (the reference project's log-in page): an anonymous visitor is sent to
``settings.LOGIN_URL``; a logged-in user without ``audit.view_staff_data`` (an active staff
user holding it: ``saka.audit.roles.actor_allowed``) gets the 403 page. Reads only.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from saka.audit.roles import VIEW, actor_allowed, perm_name
from saka.core.errors import DomainError, ValidationError
from saka.dashboard.panels import panels
from saka.dashboard.panels import runs_live as runs_live_data
from saka.grains.economy import EXPORT_COLUMNS, run_wallet_rows
from saka.grains.errors import RunNotFound
from saka.grains.selectors import run_get
from saka.grains.simulation.parameters import simulation_run

View = Callable[..., HttpResponseBase]


def staff_view(view: View) -> View:
    """Session log-in required (else the log-in page), then the staff ``VIEW`` permission
    (else the 403 page)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not actor_allowed(request.user, VIEW):
            return render(
                request,
                "saka_dashboard/403.html",
                {"permission": perm_name(VIEW)},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@staff_view
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "saka_dashboard/index.html", {"panels": panels()})


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


SIMULATION_FIELDS = frozenset({"weeks", "seed", "synthetic", "compost_rate", "redistribution_rate"})


def _simulation_request(body: bytes) -> dict[str, Any]:
    """The panel's form as JSON: known fields only; an empty field keeps the rule in force."""
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ValidationError("The request body must be JSON.") from exc
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.")
    unknown = sorted(set(data) - SIMULATION_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(map(str, unknown))}.", fields=unknown)
    return {k: (None if v == "" else v) for k, v in data.items()}


@require_POST
@staff_view
def simulation(request: HttpRequest) -> HttpResponse:
    """The "Season simulator" panel's POST: a bounded simulation (as the staff API's), its
    report as JSON; a refusal as ``{code, message, data}`` with its status."""
    try:
        data = _simulation_request(request.body)
        report = simulation_run(
            weeks=26 if data.get("weeks") is None else data["weeks"],
            synthetic_wallets=data.get("synthetic"),
            seed=1 if data.get("seed") is None else data["seed"],
            overrides={
                "compost_rate": data.get("compost_rate"),
                "redistribution_rate": data.get("redistribution_rate"),
            },
            bounded=True,
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.http_status)
    return JsonResponse(report.as_dict())
