"""The member pages and the statement exports: thin, reads only, behind the browser session
(``login_required``: an anonymous visitor is sent to the log-in page and back).

A staff user with no wallet sees zeros (the selectors create nothing). Time is read here,
once per request, and passed down as ``as_of``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from saka.audit.roles import VIEW, actor_allowed
from saka.core.clock import now
from saka.core.money import format_cents
from saka.euro import selectors as euro_selectors
from saka.grains import selectors as grains_selectors
from saka.grains.seasons.selectors import season_recent
from saka.portal.forecast import compost_forecast
from saka.portal.statements import (
    BOOKS,
    Book,
    csv_header,
    csv_row,
    parse_before,
    statement_chunks,
    statement_page,
)

DASHBOARD_URL = "/dashboard/"  # the staff pages (saka.dashboard)
SEASONS_SHOWN = 6


def _member_id(request: HttpRequest) -> int:
    """The logged-in user's id (``login_required`` guarantees there is one)."""
    pk = request.user.pk
    if pk is None:
        raise PermissionDenied
    return int(pk)


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where ``LOGIN_REDIRECT_URL`` lands: staff who read the staff views go to the
    dashboard, everyone else to their own page."""
    if actor_allowed(request.user, VIEW):
        return HttpResponseRedirect(DASHBOARD_URL)
    return HttpResponseRedirect(reverse("portal:me"))


@require_GET
@login_required
def me(request: HttpRequest) -> HttpResponse:
    """The member's two wallets, the compost forecast in words, the latest seasons (the one
    containing now highlighted)."""
    member_id = _member_id(request)
    at = now()
    saka = grains_selectors.wallet_summary(member_id=member_id)
    eur = euro_selectors.wallet_summary(member_id=member_id)
    context = {
        "saka": saka,
        "forecast": compost_forecast(member_id=member_id, as_of=at),
        "seasons": [
            {"season": season, "current": season.starts_at <= at < season.ends_at}
            for season in season_recent(limit=SEASONS_SHOWN)
        ],
        "eur": {
            "available": format_cents(eur.available),
            "held": format_cents(eur.held),
            "pockets_total": format_cents(eur.pockets_total),
            "total": format_cents(eur.total),
            "pockets": [
                {"id": p.id, "name": p.name, "balance": format_cents(p.balance)}
                for p in eur.pockets
            ],
        },
    }
    return render(request, "saka_portal/me.html", context)


def _book(code: str) -> Book:
    return BOOKS[code]  # the URL patterns route only these codes


@require_GET
@login_required
def statement(request: HttpRequest, book: str) -> HttpResponse:
    """One page of the member's statement, newest first: ``?before=<posting id>``."""
    try:
        before = parse_before(request.GET.get("before"))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    chosen = _book(book)
    page = statement_page(book=chosen, member_id=_member_id(request), before=before)
    return render(
        request,
        "saka_portal/statement.html",
        {"book": chosen, "page": page, "older": before is not None},
    )


class _Echo:
    """A file whose ``write`` hands the line back (``csv.writer`` into a stream)."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(chosen: Book, member_id: int) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # UTF-8 byte order mark: spreadsheets then read accents right
    yield writer.writerow(csv_header(chosen))
    for chunk in statement_chunks(book=chosen, member_id=member_id):
        yield "".join(writer.writerow(csv_row(chosen, line)) for line in chunk)


@require_GET
@login_required
def statement_csv(request: HttpRequest, book: str) -> StreamingHttpResponse:
    """The member's whole statement as CSV, streamed in keyset chunks (flat memory)."""
    chosen = _book(book)
    response = StreamingHttpResponse(
        _csv_lines(chosen, _member_id(request)), content_type="text/csv; charset=utf-8"
    )
    filename = f"{chosen.code}-statement-{now().date().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
