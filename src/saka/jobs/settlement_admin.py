"""The campaign settlements in the admin: read-only runs with a "stalled" filter and an action
that resumes them, and the campaigns' "settle" action. Both enqueue the ``settlement_run``
Celery task (once the request's work commits) instead of settling in the request, so they live
here, in the interface layer: the domain (``saka.euro``) never imports Celery.

Imported by ``saka.jobs.admin`` (the admin finds only ``<app>.admin`` modules); the campaigns'
admin of ``saka.euro.admin`` is registered again here with the action added.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from saka.audit import roles
from saka.core.errors import DomainError
from saka.euro.admin import CampaignAdmin
from saka.euro.models import Campaign, SettlementRun, Trigger
from saka.euro.selectors import settlement_stalled_ids
from saka.euro.settlement import SETTLEMENT
from saka.jobs.admin import StalledFilter
from saka.jobs.enqueue import settlement_run_enqueue
from saka.jobs.runs import needs_workers, run_resume, settlement_request
from saka.ledger.admin import ReadOnlyAdmin


def describe_request(run: SettlementRun, *, created: bool, sent: bool) -> str:
    if sent:
        state = "opened, workers sent" if created else "stalled: resumed, workers sent"
    else:
        state = f"already {run.status}"
        if run.outcome:
            state += f" ({run.outcome}, {run.pledges_done} pledges)"
    return f"campaign {run.campaign_id}: settlement #{run.pk} ({run.kind}) {state}."


@admin.action(
    description="Settle (release or refund the held pledges; workers are sent)",
    permissions=[roles.SETTLE_CAMPAIGNS],
)
def settle(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
    for campaign in queryset:
        try:
            run, created, sent = settlement_request(
                campaign_id=campaign.pk,
                as_of=None,
                trigger=Trigger.ADMIN,
                triggered_by_id=request.user.pk,
            )
        except DomainError as exc:
            modeladmin.message_user(
                request, f"campaign {campaign.pk}: {exc.message}", messages.ERROR
            )
        else:
            modeladmin.message_user(request, describe_request(run, created=created, sent=sent))


class SettlingCampaignAdmin(CampaignAdmin):
    actions = [*CampaignAdmin.actions, settle]


admin.site.unregister(Campaign)
admin.site.register(Campaign, SettlingCampaignAdmin)


class StalledSettlementFilter(StalledFilter):
    def stalled_ids(self) -> list[int]:
        return settlement_stalled_ids()


def send_workers(run: SettlementRun, *, actor_id: int | None) -> bool:
    """Workers for a stalled settlement (resumed first, by ``actor_id``); ``False`` if it
    needs none."""
    if not needs_workers(SETTLEMENT, run, False):
        return False
    run_resume(SETTLEMENT, run.pk, actor_id=actor_id)
    settlement_run_enqueue(campaign_id=run.campaign_id, trigger=run.trigger, triggered_by_id=None)
    return True


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "campaign",
        "kind",
        "status",
        "phase",
        "outcome",
        "chunks_done",
        "pledges_done",
        "pledges_skipped",
        "amount_done",
        "commission_done",
        "net_done",
        "refunded_done",
        "attempts",
        "trigger",
        "as_of",
        "finished_at",
    )
    list_filter = ("kind", "status", StalledSettlementFilter)
    actions = ["resume_settlements"]
    readonly_fields = tuple(f.name for f in SettlementRun._meta.fields)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.actor_allowed(request.user, roles.VIEW) or super().has_view_permission(
            request, obj
        )

    def has_settle_campaigns_permission(self, request: HttpRequest) -> bool:
        return roles.actor_allowed(request.user, roles.SETTLE_CAMPAIGNS)

    @admin.action(
        description="Resume the selected stalled settlements (send workers)",
        permissions=[roles.SETTLE_CAMPAIGNS],
    )
    def resume_settlements(self, request: HttpRequest, queryset: Any) -> None:
        if not self.has_settle_campaigns_permission(request):
            raise PermissionDenied
        sent = [run.pk for run in queryset if send_workers(run, actor_id=request.user.pk)]
        skipped = queryset.count() - len(sent)
        self.message_user(
            request,
            f"Workers sent to {len(sent)} settlement(s) {sent or ''}; {skipped} left as they "
            "are (done, or being worked on).",
            messages.SUCCESS,
        )
