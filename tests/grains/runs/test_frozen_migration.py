"""Upgrading with a redistribution in flight (``grains`` migration 0013): the wallets the
previous release froze as rows of ``grains_run_target`` become one sorted array per credit
chunk, and the run resumes from them -- the counted set credited exactly once. Migrating back
to 0012 gives the rows back.

The previous release's state is made for real: a redistribution is frozen and interrupted in
its credit step with today's code, the ``grains`` schema migrated back to 0012 (the arrays
become target rows again), then migrated forward."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from saka.demo.seed import seed_population
from saka.grains.models import AccountKind, Run, RunFrozen, RunKind, RunStatus
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import REDISTRIBUTION, redistribution_run_start
from tests.support.clock import A
from tests.support.run_crashes import assert_redistribution_exactly_once, patch_step, seed_model
from tests.support.runs_reference import RedistributionRules, redistribution_plan, system_balance

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

BEFORE = [("grains", "0012_run_statement")]
N = 300
CHUNK = 25


class Killed(BaseException):
    """A crash: not an Exception, so no ``except Exception`` in the code under test stops it."""


@pytest.fixture
def executor() -> Iterator[MigrationExecutor]:
    yield MigrationExecutor(connection)
    latest = MigrationExecutor(connection)
    latest.migrate(latest.loader.graph.leaf_nodes())  # whatever happened: the schema of today


def _frozen(run_id: int) -> dict[int, tuple[int, list[int]]]:
    return {
        lo: (hi, ids)
        for lo, hi, ids in RunFrozen.objects.filter(run_id=run_id).values_list("lo", "hi", "ids")
    }


def test_a_redistribution_frozen_before_the_upgrade_credits_its_counted_set_once(
    monkeypatch: Any, executor: MigrationExecutor
) -> None:
    # given a silo, and a redistribution frozen and then killed in its credit step's 3rd chunk
    seed_population(wallets=N, as_of=A)
    compost_run_start(as_of=A)
    silo = system_balance(AccountKind.SILO)

    def credit(run: Run, lo: int, hi: int, worker: str) -> Any:
        if lo == 2 * CHUNK:
            raise Killed
        return real(run, lo, hi, worker)

    real = patch_step(monkeypatch, REDISTRIBUTION, "credit", credit)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK)
    monkeypatch.undo()
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert run.status == RunStatus.INTERRUPTED
    eligible = set(redistribution_plan(seed_model(N), silo, RedistributionRules(), A).eligible)
    before = _frozen(run.pk)
    assert {a for _, ids in before.values() for a in ids} == eligible

    # when the schema goes back to the previous release: one target row per frozen wallet
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("grains", "RunTarget")
    rows = old.objects.filter(run_id=run.pk).values_list("account_id", flat=True)
    assert sorted(rows) == sorted(eligible)

    # and forward again
    upgrade = MigrationExecutor(connection)
    upgrade.migrate(upgrade.loader.graph.leaf_nodes())

    # then the rows are the same arrays: one per credit chunk that has eligible wallets, sorted,
    # inside its key range
    assert _frozen(run.pk) == before
    for lo, (hi, ids) in before.items():
        assert lo % CHUNK == 0
        assert hi == min(lo + CHUNK, run.max_id)
        assert ids == sorted(ids)
        assert all(lo < a <= hi for a in ids)
    # and the run resumes and credits the counted set exactly once
    resumed = redistribution_run_start(as_of=A, chunk_size=CHUNK)
    assert (resumed.pk, resumed.attempts) == (run.pk, 2)
    assert_redistribution_exactly_once(resumed, N, silo)


@pytest.mark.postgres
def test_the_frozen_arrays_are_stored_uncompressed_and_back(executor: MigrationExecutor) -> None:
    def storage() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attstorage FROM pg_attribute "
                "WHERE attrelid = 'grains_run_frozen'::regclass AND attname = 'ids'"
            )
            return str(cursor.fetchone()[0])

    # given the schema of today: the arrays are written as they are (no pglz pass per chunk)
    assert storage() == "e"
    # when grains is migrated back before 0014, the default storage (compressed) is back
    executor.migrate([("grains", "0013_run_frozen")])
    assert storage() == "x"
