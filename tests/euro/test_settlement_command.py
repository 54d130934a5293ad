"""``manage.py saka_settle``: settle in this process (``--chunk-size``, ``--as-of``,
``--workers``), report as JSON, refuse clearly; ``--join`` adds the process to a settlement
being done (by id, by campaign, or the one unfinished)."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from saka.core.clock import now
from saka.euro import settlement
from saka.euro.models import CampaignStatus, EuroEntry, Pledge, SettlementKind, SettlementRun
from saka.euro.services.campaigns import campaign_set_status
from saka.projects.services import project_create
from tests.support.euro import close, deposit, open_campaign, seed_pledges

pytestmark = pytest.mark.django_db


def _json(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("saka_settle", *args, "--json", stdout=out, stderr=StringIO())
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


@pytest.fixture
def pledged(make_user: Any, project: Any) -> Any:
    """An open campaign with 12 held pledges by three members."""
    members = [make_user() for _ in range(3)]
    for m in members:
        deposit(m, 200_000)
    campaign = open_campaign(project)
    seed_pledges(campaign, members, [100 * (i + 1) for i in range(12)])
    return campaign, members


def test_saka_settle_command(pledged: Any, project: Any) -> None:
    campaign, _ = pledged
    close(campaign, CampaignStatus.SUCCEEDED)
    summary = _json("--project", str(project.pk), "--chunk-size", "5")
    assert (summary["status"], summary["kind"], summary["pledges_done"]) == ("done", "release", 12)
    assert (summary["chunk_size"], summary["chunks_done"], summary["trigger"]) == (5, 3, "command")
    booked = EuroEntry.objects.filter(run_id=summary["id"]).aggregate(s=Sum("amount"))["s"]
    assert summary["amount"] == f"{booked // 100}.{booked % 100:02d}"
    # a second call reports the same finished run
    out = StringIO()
    call_command("saka_settle", "--campaign", str(campaign.pk), stdout=out)
    assert "completed" in out.getvalue()
    assert SettlementRun.objects.get().kind == SettlementKind.RELEASE


def test_saka_settle_at_an_instant_with_the_old_batch_size_option(pledged: Any) -> None:
    campaign, _ = pledged
    closed_at = now() - timedelta(days=2)
    campaign_set_status(campaign_id=campaign.pk, status=CampaignStatus.FAILED, as_of=closed_at)
    at = closed_at + timedelta(hours=1)
    summary = _json("--campaign", str(campaign.pk), "--batch-size", "4", "--as-of", at.isoformat())
    assert (summary["status"], summary["kind"], summary["chunks_done"]) == ("done", "refund", 3)
    assert summary["as_of"] == at.isoformat()
    assert set(Pledge.objects.values_list("settled_at", flat=True)) == {at}


def test_saka_settle_command_errors(project: Any) -> None:
    with pytest.raises(CommandError, match="campaign_not_found"):
        call_command("saka_settle", "--project", "999999999")
    open_campaign(project)
    with pytest.raises(CommandError, match="campaign_not_closed"):
        call_command("saka_settle", "--project", str(project.pk))
    with pytest.raises(CommandError):
        call_command("saka_settle")
    with pytest.raises(CommandError, match="validation_error"):
        call_command("saka_settle", "--project", str(project.pk), "--as-of", "")
    with pytest.raises(CommandError, match="settlement_not_found"):
        call_command("saka_settle", "--join")
    with pytest.raises(CommandError, match="settlement_not_found"):
        call_command("saka_settle", "--join", "424242")
    assert not SettlementRun.objects.exists()


def test_join_works_on_the_settlement_until_it_is_done(pledged: Any) -> None:
    # given a settlement opened (by the API, say) that nobody works on yet
    campaign, _ = pledged
    close(campaign, CampaignStatus.SUCCEEDED)
    run, _ = settlement.settlement_open(campaign_id=campaign.pk, chunk_size=5)
    # when a process joins it, by id, then by campaign, then as the one unfinished
    summary = _json("--join", str(run.pk))
    # then it did it
    assert (summary["id"], summary["status"], summary["pledges_done"]) == (run.pk, "done", 12)
    assert _json("--join", "--campaign", str(campaign.pk))["id"] == run.pk
    with pytest.raises(CommandError, match="settlement_not_found"):
        _json("--join")  # nothing is unfinished any more


def test_join_without_an_id_needs_a_single_unfinished_settlement(pledged: Any) -> None:
    # given two settlements opened and unfinished
    campaign, members = pledged
    close(campaign, CampaignStatus.SUCCEEDED)
    other = open_campaign(project_create(owner_id=members[0].pk, title="Other"))
    close(other, CampaignStatus.FAILED)
    first, _ = settlement.settlement_open(campaign_id=campaign.pk)
    second, _ = settlement.settlement_open(campaign_id=other.pk)
    # then --join alone is refused, naming them
    with pytest.raises(CommandError, match=rf"validation_error.*\[{first.pk}, {second.pk}\]"):
        _json("--join")
    with pytest.raises(CommandError, match="validation_error"):
        _json("--join", str(first.pk), "--workers", "0")
