"""Staff roles through the API: every staff endpoint against every role (and a staff user
with none, and a superuser). Refused: 403 ``permission_denied`` naming the permission,
nothing booked, the refusal in the audit trail. Allowed: 2xx. Then self-actions, and the
audit list endpoint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from saka.audit.models import AuditRecord, Outcome
from saka.core.clock import now
from saka.engine.models import RunStatus
from saka.euro.models import Campaign, CampaignStatus, SettlementRun
from saka.euro.services.pledges import pledge_create
from saka.euro.settlement import settlement_open
from saka.grains.models import PolicyVersion, PolicyWhatIf, Run, Season
from saka.grains.runs.compost import compost_run_start
from saka.grains.seasons.services import season_create
from saka.grains.whatif import policy_whatif
from saka.polls.models import Poll
from saka.projects.services import project_create
from tests.support.api import promote
from tests.support.euro import SECRET, close, deposit, open_campaign, snapshot

pytestmark = pytest.mark.django_db

NONE, OPERATOR, SETTLER, ADJUSTER, AUDITOR, POLL_MANAGER, POLICY_MAKER = (
    "none",
    "run_operator",
    "campaign_settler",
    "saka_adjuster",
    "auditor",
    "poll_manager",
    "policy_maker",
)
READERS = {OPERATOR, SETTLER, AUDITOR, POLL_MANAGER, POLICY_MAKER}
# route name, method -> (roles allowed, the permission named on refusal); written out here,
# not read from saka.audit.roles, so that a change of the role table shows up as a failure.
EXPECTED: dict[tuple[str, str], tuple[set[str], str]] = {
    ("staff-audit", "get"): (READERS, "view_staff_data"),
    ("staff-alerts", "get"): (READERS, "view_staff_data"),
    ("staff-run-list", "get"): (READERS, "view_staff_data"),
    ("staff-run-list", "post"): ({OPERATOR}, "operate_runs"),
    ("staff-run-detail", "get"): (READERS, "view_staff_data"),
    ("staff-run-resume", "post"): ({OPERATOR}, "operate_runs"),
    ("staff-silo", "get"): (READERS, "view_staff_data"),
    ("staff-stats", "get"): (READERS, "view_staff_data"),
    ("staff-simulations", "post"): (READERS, "view_staff_data"),
    ("staff-statement-detail", "get"): (READERS, "view_staff_data"),
    ("staff-adjustment", "post"): ({ADJUSTER}, "adjust_saka"),
    ("staff-euro-campaigns", "post"): ({SETTLER}, "manage_campaigns"),
    ("staff-euro-campaign-status", "post"): ({SETTLER}, "manage_campaigns"),
    ("staff-euro-settlement", "get"): (READERS, "view_staff_data"),
    ("staff-euro-settlement", "post"): ({SETTLER}, "settle_campaigns"),
    ("staff-euro-pledge-refund", "post"): ({SETTLER}, "refund_pledges"),
    ("staff-polls", "post"): ({POLL_MANAGER}, "manage_polls"),
    ("staff-seasons", "get"): (READERS, "view_staff_data"),
    ("staff-seasons", "post"): ({POLICY_MAKER}, "manage_policy"),
    ("staff-season-activate", "post"): ({POLICY_MAKER}, "manage_policy"),
    ("staff-policy", "get"): (READERS, "view_staff_data"),
    ("staff-policy", "post"): ({POLICY_MAKER}, "manage_policy"),
    ("staff-policy-whatifs", "post"): (READERS, "view_staff_data"),
    ("staff-policy-whatif-detail", "get"): (READERS, "view_staff_data"),
}
ROLES = [NONE, OPERATOR, SETTLER, ADJUSTER, AUDITOR, POLL_MANAGER, POLICY_MAKER, "superuser"]


@pytest.fixture
def world(settings: Any, make_user: Any, member: Any, project: Any) -> dict[str, Any]:
    """An open campaign with a held pledge, a closed campaign with its settlement opened by
    the system, a dry run recorded by the system, a live compost and its statement, a project
    without a campaign."""
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    rich = make_user()
    deposit(rich, 100_000)
    open_one = open_campaign(project)
    pledge = pledge_create(member_id=rich.pk, project_id=project.pk, amount=100)
    other = project_create(owner_id=rich.pk, title="Orchard")
    closed = close(open_campaign(other), CampaignStatus.SUCCEEDED)
    settlement_open(campaign_id=closed.pk)
    spare = project_create(owner_id=rich.pk, title="Bees")
    run = compost_run_start(dry_run=True)
    season = season_create(
        name="Spring", starts_at=now(), ends_at=now() + timedelta(days=90), created_by_id=None
    )
    whatif = policy_whatif(changes={"compost_rate": "0.20"}, actor_id=None)
    live = compost_run_start()  # publishes statement 1
    return {
        "season": season,
        "whatif": whatif,
        "open": open_one,
        "closed": closed,
        "pledge": pledge,
        "spare": spare,
        "run": run,
        "statement": live.statement,
        "member": member,
    }


def _request(name: str, method: str, world: dict[str, Any]) -> tuple[str, Any]:
    kwargs = {
        "staff-run-detail": {"run_id": world["run"].pk},
        "staff-policy-whatif-detail": {"whatif_id": world["whatif"].pk},
        "staff-run-resume": {"run_id": world["run"].pk},
        "staff-statement-detail": {"seq": world["statement"].seq},
        "staff-euro-campaign-status": {"campaign_id": world["open"].pk},
        "staff-euro-settlement": {"campaign_id": world["closed"].pk},
        "staff-euro-pledge-refund": {"pledge_id": world["pledge"].pledge_id},
        "staff-season-activate": {"season_id": world["season"].pk},
    }.get(name, {})
    body = {
        ("staff-run-list", "post"): {"kind": "compost", "dry_run": True},
        ("staff-simulations", "post"): {"weeks": 2, "synthetic": 50},
        ("staff-adjustment", "post"): {"member_id": world["member"].pk, "amount": 20},
        ("staff-euro-campaigns", "post"): {
            "project_id": world["spare"].pk,
            "goal": "100.00",
            "deadline": (now() + timedelta(days=10)).isoformat(),
        },
        ("staff-euro-campaign-status", "post"): {"status": "failed"},
        ("staff-euro-settlement", "post"): {},
        ("staff-policy", "post"): {"whatif_id": world["whatif"].pk, "reason": "a trial"},
        ("staff-policy-whatifs", "post"): {"compost_rate": "0.30"},
        ("staff-polls", "post"): {
            "title": "Next garden",
            "method": "quadratic",
            "options": ["north", "south"],
            "opens_at": now().isoformat(),
            "closes_at": (now() + timedelta(days=10)).isoformat(),
        },
        ("staff-seasons", "post"): {
            "name": "Summer",
            "starts_at": (now() + timedelta(days=400)).isoformat(),
            "ends_at": (now() + timedelta(days=500)).isoformat(),
        },
    }.get((name, method))
    return reverse(f"saka_api:{name}", kwargs=kwargs), body


def _state() -> tuple[Any, ...]:
    return (
        snapshot(),
        Run.objects.count(),
        SettlementRun.objects.values_list("status", "attempts").get(),
        sorted(Campaign.objects.values_list("pk", "status")),
        AuditRecord.objects.filter(outcome=Outcome.SUCCEEDED).count(),
        Poll.objects.count(),
        list(Season.objects.values_list("pk", "is_active")),
        PolicyVersion.objects.count(),
        PolicyWhatIf.objects.count(),
    )


def _user(make_user: Any, role: str) -> Any:
    if role == "superuser":
        return make_user(staff=True, is_superuser=True)
    return make_user(staff=True, roles=[] if role == NONE else [role])


@pytest.mark.parametrize(
    ("name", "method", "role"),
    [(name, method, role) for (name, method) in EXPECTED for role in ROLES],
)
def test_each_staff_endpoint_against_each_role(
    name: str,
    method: str,
    role: str,
    world: dict[str, Any],
    make_user: Any,
    api: Any,
    books: Any,
    assert_error: Any,
) -> None:
    # given a staff user with exactly this role
    user = _user(make_user, role)
    allowed, permission = EXPECTED[(name, method)]
    url, body = _request(name, method, world)
    before, before_books = _state(), books()
    # when they call the endpoint
    response = getattr(api(user), method)(url, body, format="json")
    # then a role that includes the permission (or a superuser) gets a 2xx ...
    if role in allowed or role == "superuser":
        assert 200 <= response.status_code < 300, response.content[:500]
        return
    # ... and any other gets 403 naming the permission, nothing changed, the refusal recorded
    error = assert_error(response, 403, "permission_denied")
    assert error["data"]["permission"] == f"audit.{permission}"
    assert (_state(), books()) == (before, before_books)
    refusal = AuditRecord.objects.get(actor=user)
    assert (refusal.outcome, refusal.action, refusal.error_code) == (
        Outcome.REFUSED,
        "staff.endpoint",
        "permission_denied",
    )


def test_the_expectations_cover_every_staff_endpoint() -> None:
    from saka.api.security_matrix import staff_endpoints

    # given the staff endpoints of the URL conf, then each is in the table above
    assert len(staff_endpoints()) == len(EXPECTED)


# --- nobody adjusts or refunds their own wallet -------------------------------------------------


def test_an_adjuster_cannot_adjust_their_own_wallet(
    make_user: Any, api: Any, books: Any, assert_error: Any
) -> None:
    # given a SAKA adjuster
    adjuster = make_user(staff=True, roles=[ADJUSTER])
    before = books()
    # when they grant themselves an adjustment
    response = api(adjuster).post(
        reverse("saka_api:staff-adjustment"), {"member_id": adjuster.pk, "amount": 20}, "json"
    )
    # then it is refused, typed, nothing booked, and the refusal recorded
    body = assert_error(response, 403, "self_action_forbidden")
    assert body["data"]["action"] == "saka.adjustment.grant"
    assert books() == before
    record = AuditRecord.objects.get()
    assert (record.actor_id, record.outcome, record.error_code) == (
        adjuster.pk,
        Outcome.REFUSED,
        "self_action_forbidden",
    )


def test_a_settler_cannot_refund_their_own_pledge(
    settings: Any, make_user: Any, project: Any, api: Any, assert_error: Any
) -> None:
    # given a campaign settler who pledged to an open campaign as a member
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    settler = make_user()  # a member who pledged, then joined the staff
    deposit(settler, 10_000)
    open_campaign(project)
    pledge = pledge_create(member_id=settler.pk, project_id=project.pk, amount=100)
    promote(settler, SETTLER)
    before = snapshot()
    # when they refund it
    response = api(settler).post(
        reverse("saka_api:staff-euro-pledge-refund", args=[pledge.pledge_id])
    )
    # then it is refused, typed, and nothing moved
    assert_error(response, 403, "self_action_forbidden")
    assert snapshot() == before
    refusal = AuditRecord.objects.get(action="euro.pledge.refund")
    assert (refusal.actor_id, refusal.outcome) == (settler.pk, Outcome.REFUSED)


# --- the audit list -----------------------------------------------------------------------------


def test_the_audit_list_shows_staff_actions_newest_first_filtered(
    make_user: Any, member: Any, other_member: Any, api: Any
) -> None:
    # given two adjustments by two adjusters and one refused call
    first = make_user(staff=True, roles=[ADJUSTER])
    second = make_user(staff=True, roles=[ADJUSTER])
    url = reverse("saka_api:staff-adjustment")
    for adjuster in (first, second):
        assert api(adjuster).post(url, {"member_id": member.pk, "amount": 5}, "json").status_code
    api(make_user(staff=True)).post(url, {"member_id": member.pk, "amount": 5}, "json")
    auditor = api(make_user(staff=True, roles=[AUDITOR]))
    # when an auditor lists the trail, all of it and one actor's
    everything = auditor.get(reverse("saka_api:staff-audit")).json()["results"]
    mine = auditor.get(reverse("saka_api:staff-audit"), {"actor": first.pk}).json()["results"]
    grants = auditor.get(
        reverse("saka_api:staff-audit"), {"action": "saka.adjustment.grant"}
    ).json()["results"]
    # then it is newest first, with who, what, outcome and payload
    assert [r["outcome"] for r in everything] == ["refused", "succeeded", "succeeded"]
    assert [r["actor_id"] for r in mine] == [first.pk]
    assert mine[0]["payload"]["member_id"] == member.pk
    assert mine[0]["payload"]["amount"] == 5
    assert (mine[0]["target_type"], mine[0]["target_id"]) == ("member", str(member.pk))
    assert [r["actor_id"] for r in grants] == [second.pk, first.pk]


def test_the_audit_list_refuses_a_bad_filter(make_user: Any, api: Any, assert_error: Any) -> None:
    auditor = api(make_user(staff=True, roles=[AUDITOR]))
    response = auditor.get(reverse("saka_api:staff-audit"), {"action": "no.such"})
    assert_error(response, 400, "validation_error")


def test_a_live_run_start_is_audited_with_the_run(make_user: Any, api: Any) -> None:
    # given a run operator
    operator = make_user(staff=True, roles=[OPERATOR])
    # when they start the live compost
    response = api(operator).post(
        reverse("saka_api:staff-run-list"), {"kind": "compost", "dry_run": False}, "json"
    )
    # then the run and its audit record exist together
    assert response.status_code == 202
    run = Run.objects.get(dry_run=False)
    record = AuditRecord.objects.get(action="saka.run.live")
    assert (record.actor_id, record.target_id, record.outcome) == (
        operator.pk,
        str(run.pk),
        Outcome.SUCCEEDED,
    )
    assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.DONE)
