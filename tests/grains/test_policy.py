"""Parameters as data: a change needs the ``manage_policy`` role, a reason and a fresh what-if
of the same parameters; it takes effect from its instant; runs apply and record the version
in force at their ``as_of``; versions are append-only; concurrent changes serialise."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, transaction

from saka.audit.errors import RoleRequired
from saka.audit.models import AuditRecord
from saka.core.clock import now
from saka.core.errors import ValidationError
from saka.grains.errors import WhatIfNotFound, WhatIfStale
from saka.grains.models import PolicyVersion, PolicyWhatIf
from saka.grains.policy import policy_change, policy_current, policy_defaults
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.whatif import policy_whatif
from tests.support.threads import Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker(make_user: Any) -> Any:
    return make_user(staff=True, roles=["policy_maker"])


def _change(actor: Any, **changes: Any) -> PolicyVersion:
    whatif = policy_whatif(changes=changes, actor_id=actor.pk)
    return policy_change(whatif_id=whatif.pk, reason="trial season", actor_id=actor.pk)


def test_a_change_is_in_force_for_the_runs_after_it(maker: Any) -> None:
    # given the settings' defaults in force
    assert policy_current().version_id is None
    # when a policy maker changes the compost rate to 20 % with a what-if
    version = _change(maker, compost_rate="0.20", redistribution_active_days=30)
    # then it is in force from now, and a run records it with its parameters
    assert policy_current().version_id == version.pk
    assert policy_current().compost.rate == Decimal("0.20")
    run = compost_run_start(as_of=now() + timedelta(seconds=1), dry_run=True)
    assert run.policy_version_id == version.pk
    assert run.parameters["rate"] == "0.20"
    redis = redistribution_run_start(as_of=now() + timedelta(seconds=1), dry_run=True)
    assert (redis.policy_version_id, redis.parameters["active_days"]) == (version.pk, 30)
    # and a run before it applies the defaults
    before = compost_run_start(as_of=version.effective_at - timedelta(days=1), dry_run=True)
    assert before.policy_version_id is None
    assert before.parameters["rate"] == str(policy_defaults().compost.rate)
    # and the change is in the audit trail, before and after
    record = AuditRecord.objects.get(action="saka.policy.change")
    assert record.actor_id == maker.pk
    assert record.payload["before"]["compost_rate"] == "0.10"
    assert record.payload["after"]["compost_rate"] == "0.20"


def test_a_change_may_take_effect_later(maker: Any) -> None:
    # given a change effective in ten days
    whatif = policy_whatif(changes={"compost_min_amount": 20}, actor_id=maker.pk)
    later = now() + timedelta(days=10)
    version = policy_change(
        whatif_id=whatif.pk, reason="announced", actor_id=maker.pk, effective_at=later
    )
    # then the defaults stay in force until then, the version from then on
    assert policy_current().version_id is None
    assert policy_current(at=later).version_id == version.pk
    assert policy_current(at=later).compost.min_amount == 20


def test_a_whatif_computed_before_another_change_is_stale(maker: Any) -> None:
    # given two what-ifs against the defaults, and the first put in force
    first = policy_whatif(changes={"compost_rate": "0.20"}, actor_id=maker.pk)
    second = policy_whatif(changes={"compost_rate": "0.30"}, actor_id=maker.pk)
    policy_change(whatif_id=first.pk, reason="a", actor_id=maker.pk)
    # when the second is attached to a change
    with pytest.raises(WhatIfStale):
        policy_change(whatif_id=second.pk, reason="b", actor_id=maker.pk)
    # then nothing changed
    assert PolicyVersion.objects.count() == 1
    assert policy_current().compost.rate == Decimal("0.20")


def test_an_old_whatif_is_stale(maker: Any) -> None:
    whatif = policy_whatif(changes={"compost_rate": "0.20"}, actor_id=maker.pk)
    # given a what-if made 25 hours ago (its record is append-only: a new one, backdated)
    old = PolicyWhatIf.objects.create(
        as_of=whatif.as_of,
        parameters=whatif.parameters,
        baseline=whatif.baseline,
        result=whatif.result,
        created_at=now() - timedelta(hours=25),
    )
    with pytest.raises(WhatIfStale):
        policy_change(whatif_id=old.pk, reason="late", actor_id=maker.pk)
    assert not PolicyVersion.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"effective_at": "past"}, "effective_at"),
    ],
)
def test_a_change_needs_a_reason_and_a_future_instant(
    maker: Any, kwargs: dict[str, Any], field: str
) -> None:
    whatif = policy_whatif(changes={"compost_rate": "0.20"}, actor_id=maker.pk)
    args = {"reason": "ok", **kwargs}
    if args.get("effective_at") == "past":
        args["effective_at"] = now() - timedelta(hours=1)
    with pytest.raises(ValidationError) as refused:
        policy_change(whatif_id=whatif.pk, actor_id=maker.pk, **args)
    assert refused.value.data["field"] == field
    assert not PolicyVersion.objects.exists()


def test_a_whatif_of_the_parameters_in_force_changes_nothing(maker: Any) -> None:
    whatif = policy_whatif(changes={"compost_rate": "0.10"}, actor_id=maker.pk)
    with pytest.raises(ValidationError) as refused:
        policy_change(whatif_id=whatif.pk, reason="same", actor_id=maker.pk)
    assert refused.value.data["field"] == "whatif_id"


def test_an_unknown_whatif_is_not_found(maker: Any) -> None:
    with pytest.raises(WhatIfNotFound):
        policy_change(whatif_id=987654, reason="?", actor_id=maker.pk)


@pytest.mark.parametrize("roles", [[], ["run_operator"], ["auditor"]])
def test_a_change_needs_the_policy_maker_role(make_user: Any, maker: Any, roles: list) -> None:
    # given a what-if, and a staff user without manage_policy
    whatif = policy_whatif(changes={"compost_rate": "0.20"}, actor_id=maker.pk)
    other = make_user(staff=True, roles=roles)
    # when they try to put it in force
    with pytest.raises(RoleRequired) as refused:
        policy_change(whatif_id=whatif.pk, reason="mine", actor_id=other.pk)
    # then it is refused, recorded, and nothing changed
    assert refused.value.data["permission"] == "audit.manage_policy"
    assert AuditRecord.objects.filter(action="saka.policy.change", actor_id=other.pk).exists()
    assert not PolicyVersion.objects.exists()


def test_a_whatif_needs_a_staff_reader(make_user: Any) -> None:
    member = make_user()
    with pytest.raises(RoleRequired):
        policy_whatif(changes={"compost_rate": "0.20"}, actor_id=member.pk)
    assert not PolicyWhatIf.objects.exists()


def test_versions_are_append_only(maker: Any) -> None:
    version = _change(maker, compost_rate="0.20")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PolicyVersion.objects.filter(pk=version.pk).update(reason="rewritten")
    assert PolicyVersion.objects.get(pk=version.pk).reason == "trial season"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_changes_with_the_same_whatif_make_one_version(maker: Any) -> None:
    # given one what-if, attached to two changes at once
    whatif = policy_whatif(changes={"compost_rate": "0.20"}, actor_id=maker.pk)
    barrier = threading.Barrier(2)
    workers = [
        Worker(
            lambda: policy_change(whatif_id=whatif.pk, reason="race", actor_id=maker.pk),
            barrier=barrier,
        )
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    # then one made the version, the other found its what-if stale (the first had changed
    # what it compared with) -- never two versions from one what-if
    outcomes = sorted(type(w.error).__name__ if w.error else "ok" for w in workers)
    assert outcomes == ["WhatIfStale", "ok"]
    assert PolicyVersion.objects.count() == 1
