"""The audit trail and the role table: records commit with their action or not at all,
refusals are recorded on their own, the groups are re-synced, the admin is read-only, and
docs/security.md holds the permission matrix the code generates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from saka.api.security_matrix import BEGIN, END, permission_matrix_markdown
from saka.audit.errors import RoleRequired, SelfActionForbidden
from saka.audit.models import AuditRecord, Outcome
from saka.audit.roles import PERMISSIONS, ROLES, roles_sync
from saka.audit.services import audit_record, staff_require
from saka.grains.conf import MANUAL_ADJUST
from saka.grains.models import SakaEntry
from saka.grains.services import wallet_harvest

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _adjust(member: Any, actor: Any, **kwargs: Any) -> Any:
    return wallet_harvest(
        member_id=member.pk, reason=MANUAL_ADJUST, amount=20, granted_by_id=actor.pk, **kwargs
    )


def test_the_groups_hold_exactly_the_role_table(make_user: Any) -> None:
    # given the groups after migrate (data migration + post_migrate sync)
    for role, codenames in ROLES.items():
        held = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
        # then each holds exactly its permissions
        assert held == set(codenames), role


def test_roles_sync_puts_a_hand_edited_group_back() -> None:
    # given an auditor group someone gave the adjustment permission, and a deleted group
    auditor = Group.objects.get(name="auditor")
    auditor.permissions.add(Permission.objects.get(codename="adjust_saka"))
    Group.objects.filter(name="run_operator").delete()
    # when the roles are synced (as after every migrate)
    roles_sync()
    roles_sync()  # idempotent
    # then both are as the table says
    assert set(auditor.permissions.values_list("codename", flat=True)) == {"view_staff_data"}
    assert Group.objects.get(name="run_operator").permissions.count() == 2
    assert Permission.objects.filter(codename__in=PERMISSIONS).count() == len(PERMISSIONS)


def test_a_successful_adjustment_writes_its_audit_record(make_user: Any, member: Any) -> None:
    adjuster = make_user(staff=True, roles=["saka_adjuster"])
    result = _adjust(member, adjuster)
    record = AuditRecord.objects.get()
    assert (record.actor_id, record.action, record.outcome) == (
        adjuster.pk,
        "saka.adjustment.grant",
        Outcome.SUCCEEDED,
    )
    assert record.payload == {"member_id": member.pk, "amount": 20, "entry_id": result.entry_id}


def test_an_adjustment_rolled_back_leaves_no_succeeded_record(
    make_user: Any, member: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an adjustment whose transaction fails after the booking and the audit record
    adjuster = make_user(staff=True, roles=["saka_adjuster"])

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("crash after booking")

    monkeypatch.setattr("saka.ledger.idempotency.idempotency_store", boom)
    # when it is granted
    with pytest.raises(RuntimeError):
        _adjust(member, adjuster, idempotency_key="k-1")
    # then neither the entry nor its audit record exist
    assert not SakaEntry.objects.exists()
    assert not AuditRecord.objects.exists()


def test_a_refused_adjustment_is_recorded_and_books_nothing(make_user: Any, member: Any) -> None:
    # given a staff user with another role
    auditor = make_user(staff=True, roles=["auditor"])
    # when they grant an adjustment through the service
    with pytest.raises(RoleRequired) as refused:
        _adjust(member, auditor)
    # then the error names the permission, nothing is booked, the refusal is recorded
    assert refused.value.data == {
        "permission": "audit.adjust_saka",
        "action": "saka.adjustment.grant",
    }
    assert not SakaEntry.objects.exists()
    record = AuditRecord.objects.get()
    assert (record.actor_id, record.outcome, record.error_code) == (
        auditor.pk,
        Outcome.REFUSED,
        "permission_denied",
    )


def test_self_adjustment_is_refused_by_the_service(make_user: Any) -> None:
    adjuster = make_user(staff=True, roles=["saka_adjuster"])
    with pytest.raises(SelfActionForbidden):
        wallet_harvest(
            member_id=adjuster.pk, reason=MANUAL_ADJUST, amount=20, granted_by_id=adjuster.pk
        )
    assert not SakaEntry.objects.exists()


@pytest.mark.parametrize("who", ["inactive", "not_staff", "deleted"])
def test_an_actor_that_is_not_active_staff_is_refused_whatever_its_groups(
    make_user: Any, who: str
) -> None:
    user = make_user(staff=who != "not_staff", is_active=who != "inactive", roles=list(ROLES))
    actor_id = user.pk
    if who == "deleted":
        user.delete()
    with pytest.raises(RoleRequired):
        staff_require(actor_id=actor_id, action="saka.run.live")
    assert AuditRecord.objects.get().outcome == Outcome.REFUSED


def test_the_system_is_never_refused() -> None:
    staff_require(actor_id=None, action="euro.pledge.refund")
    assert not AuditRecord.objects.exists()


@pytest.mark.django_db(transaction=True)  # no test transaction around the call
def test_audit_record_needs_the_actions_transaction() -> None:
    with pytest.raises(RuntimeError):
        audit_record(actor_id=None, action="saka.run.live")


def test_the_audit_admin_is_read_only(make_user: Any) -> None:
    # given an audit record and a superuser in the admin
    with pytest.raises(RoleRequired):
        staff_require(actor_id=make_user(staff=True).pk, action="saka.run.dry")
    record = AuditRecord.objects.get()
    client = Client()
    client.force_login(make_user(staff=True, is_superuser=True))
    # when they open the list, the record, the add form and the delete page
    listed = client.get(reverse("admin:audit_auditrecord_changelist"))
    add = client.get(reverse("admin:audit_auditrecord_add"))
    delete = client.post(
        reverse("admin:audit_auditrecord_delete", args=[record.pk]), {"post": "yes"}
    )
    client.post(reverse("admin:audit_auditrecord_change", args=[record.pk]), {"action": "x"})
    # then they can read it and nothing else
    assert listed.status_code == 200
    assert (add.status_code, delete.status_code) == (403, 403)
    assert AuditRecord.objects.get().action == "saka.run.dry"


def test_an_auditor_reads_the_audit_admin_and_others_do_not(make_user: Any) -> None:
    url = reverse("admin:audit_auditrecord_changelist")
    auditor, adjuster = Client(), Client()
    auditor.force_login(make_user(staff=True, roles=["auditor"]))
    adjuster.force_login(make_user(staff=True, roles=["saka_adjuster"]))
    assert (auditor.get(url).status_code, adjuster.get(url).status_code) == (200, 403)


def test_docs_security_holds_the_permission_matrix_of_the_code() -> None:
    # given the matrix generated from the URL conf, the admin and the role table
    expected = f"{BEGIN}\n{permission_matrix_markdown()}\n{END}"
    # then docs/security.md holds it as is (regenerate: manage.py saka_permission_matrix)
    assert expected in DOC.read_text()


def test_every_staff_route_names_a_permission_for_each_method_it_serves() -> None:
    from saka.api import urls
    from saka.api.security_matrix import _walk

    # given every route of the API under staff/
    for route, view in _walk(urls.urlpatterns, "/api/"):
        if "/staff/" not in route:
            continue
        served = {m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
        # then each method it serves has its permission in the role table
        table = getattr(view, "staff_permissions", {})
        assert set(table) == served, route
        assert set(table.values()) <= set(PERMISSIONS), route
