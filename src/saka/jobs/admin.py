"""The runs in the admin: read-only rows, plus buttons to start a dry run (synchronous) or the
live run of the current period (opened now; workers are Celery tasks enqueued once the
request's work commits), a "stalled" filter and an action that resumes stalled runs.

The admin of :class:`~saka.grains.models.Run` lives here, in the interface layer, because its
live-run button enqueues a Celery task and the domain (``saka.grains``) never imports Celery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from saka.audit import roles
from saka.core.clock import now
from saka.core.errors import DomainError
from saka.grains.conf import get_settings
from saka.grains.errors import SakaDisabled
from saka.grains.models import Run, RunKind, RunTrigger
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.periods import period_of
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import stalled_run_ids
from saka.jobs.enqueue import run_workers_enqueue
from saka.jobs.runs import SPEC_OF_KIND, live_run_request, needs_workers, run_resume, workers
from saka.ledger.admin import ReadOnlyAdmin

RUN_STARTS: dict[str, Callable[..., Run]] = {
    RunKind.COMPOST.value: compost_run_start,
    RunKind.REDISTRIBUTION.value: redistribution_run_start,
}


def describe_dry_run(run: Run) -> str:
    """The figures of a dry run, for the admin message."""
    head = f"Dry run {run.kind} {run.period} (run #{run.pk}, as of {run.as_of:%Y-%m-%d %H:%M} UTC)"
    if run.kind == RunKind.COMPOST:
        return (
            f"{head}: {run.wallets_done} wallets would compost {run.amount_done} grains "
            f"[{run.outcome}]."
        )
    return (
        f"{head}: silo {run.silo_before}, pot {run.pot}, {run.eligible_wallets} eligible wallets, "
        f"{run.per_wallet} grains each, {run.amount_done} grains in total [{run.outcome}]."
    )


class StalledFilter(admin.SimpleListFilter):
    """Runs nobody works on (a kind's admin overrides ``stalled_ids``)."""

    title = "stalled"
    parameter_name = "stalled"

    def stalled_ids(self) -> list[int]:
        return stalled_run_ids()

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Stalled or interrupted (nobody works on it)")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "yes":
            return queryset.filter(pk__in=self.stalled_ids())
        return queryset


def send_workers(run: Run, *, created: bool, actor_id: int | None) -> bool:
    """Workers for a run just opened or stalled (resumed first, by ``actor_id``); ``False`` if
    none needed."""
    spec = SPEC_OF_KIND[run.kind]
    if run.dry_run or not needs_workers(spec, run, created):
        return False
    if not created:
        run_resume(spec, run.pk, actor_id=actor_id)
    run_workers_enqueue(spec=spec.name, run_id=run.pk, count=workers())
    return True


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "period",
        "dry_run",
        "status",
        "phase",
        "outcome",
        "chunks_done",
        "wallets_done",
        "amount_done",
        "duration_ms",
        "trigger",
        "created_at",
    )
    list_filter = ("kind", "status", "dry_run", StalledFilter)
    actions = ["resume_runs"]
    readonly_fields = tuple(f.name for f in Run._meta.fields)
    show_full_result_count = False
    change_list_template = "admin/saka_jobs/run/change_list.html"

    def _url_name(self, action: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{action}"

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "dry-run/<str:kind>/",
                self.admin_site.admin_view(require_POST(self.dry_run_view)),
                name=self._url_name("dry_run"),
            ),
            path(
                "start/<str:kind>/",
                self.admin_site.admin_view(require_POST(self.start_view)),
                name=self._url_name("start"),
            ),
        ]
        return custom + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        at = now()
        dry = [
            {
                "label": f"Dry run {kind} now",
                "url": reverse(f"admin:{self._url_name('dry_run')}", args=[kind]),
                "confirm": "",
            }
            for kind in RUN_STARTS
        ]
        live = [
            {
                "label": f"Start live {kind} for {period_of(kind, at)}",
                "url": reverse(f"admin:{self._url_name('start')}", args=[kind]),
                "confirm": f"Start the live {kind} run of {period_of(kind, at)}? It moves grains.",
            }
            for kind in RUN_STARTS
        ]
        context = {**(extra_context or {}), "run_buttons": dry + live}
        return super().changelist_view(request, extra_context=context)

    def _changelist(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.actor_allowed(request.user, roles.VIEW) or super().has_view_permission(
            request, obj
        )

    def has_operate_runs_permission(self, request: HttpRequest) -> bool:
        """The run operator's permission (``saka.audit.roles``): buttons and the resume action."""
        return roles.actor_allowed(request.user, roles.OPERATE_RUNS)

    def _check(self, request: HttpRequest, kind: str) -> Callable[..., Run]:
        if not self.has_operate_runs_permission(request):
            raise PermissionDenied
        if kind not in RUN_STARTS:
            raise Http404(f"Unknown run kind {kind!r}.")
        return RUN_STARTS[kind]

    def dry_run_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        start = self._check(request, kind)
        try:
            run = start(dry_run=True, trigger=RunTrigger.ADMIN, triggered_by_id=request.user.pk)
        except DomainError as exc:
            self.message_user(request, f"Dry run {kind} refused: {exc.message}", messages.ERROR)
        else:
            self.message_user(request, describe_dry_run(run), messages.SUCCESS)
        return self._changelist()

    def start_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        self._check(request, kind)
        try:
            if not get_settings().enabled:
                raise SakaDisabled()
            run, created = live_run_request(
                kind=kind, at=now(), trigger=RunTrigger.ADMIN, triggered_by_id=request.user.pk
            )
        except DomainError as exc:
            self.message_user(
                request, f"Live {kind} refused: {exc.message} {exc.data}", messages.ERROR
            )
            return self._changelist()
        sent = send_workers(run, created=created, actor_id=request.user.pk)
        state = "opened, workers sent" if created else f"already {run.status}"
        if sent and not created:
            state = "stalled: resumed, workers sent"
        self.message_user(
            request, f"Live {kind} run #{run.pk} of {run.period}: {state}.", messages.SUCCESS
        )
        return self._changelist()

    @admin.action(
        description="Resume the selected stalled runs (send workers)",
        permissions=[roles.OPERATE_RUNS],
    )
    def resume_runs(self, request: HttpRequest, queryset: Any) -> None:
        if not self.has_operate_runs_permission(request):
            raise PermissionDenied
        sent = [
            run.pk for run in queryset if send_workers(run, created=False, actor_id=request.user.pk)
        ]
        skipped = queryset.count() - len(sent)
        self.message_user(
            request,
            f"Workers sent to {len(sent)} run(s) {sent or ''}; {skipped} left as they are "
            "(done, dry, or being worked on).",
            messages.SUCCESS,
        )


# the settlements' admin and the campaigns' "settle" action (registered when imported)
from saka.jobs import settlement_admin  # noqa: E402, F401
