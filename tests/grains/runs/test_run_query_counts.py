"""The queries a run costs grow with its chunks, not with its wallets, and are pinned; a run's
figures equal the postings it booked."""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from saka.grains.accounts import system_account_id
from saka.grains.models import AccountKind, EntryKind, Run, RunChunk, RunChunkStep, SakaEntry
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from tests.support.clock import A
from tests.support.run_rules import composted, credits, fill_silo
from tests.support.runs_reference import DAY, bulk_wallets, db_wallets, is_postgres, system_balance

pytestmark = pytest.mark.django_db


# Runs walk key ranges (0, size], (size, 2 size], ...: tests whose chunk geometry matters
# start from id 1 (PostgreSQL sequences are not rolled back with a test's transaction).
ids_from_one = pytest.mark.django_db(transaction=True, reset_sequences=True)


# --- query counts -----------------------------------------------------------------------------


# The queries Django records for a run, BEGIN and COMMIT included (every chunk is two short
# transactions of the engine: its claim, committed on its own so that operators see the
# lease, then its work). Per chunk on PostgreSQL: the claim (one UPDATE ... FOR UPDATE SKIP
# LOCKED statement), the chunk row's lock (one SELECT ... FOR UPDATE, which also turns the
# transaction's synchronous_commit off), the kind's one chunk statement and the insert of the
# chunk's statement leaf: 4 statements + 2 BEGIN + 2 COMMIT = 8. SQLite: the claim is two
# statements (find the free chunk, lease it), the lock one, and the chunk's work at most 8
# plain ones (select, entry, postings, wallets, system account, leaf, chunk done, run totals):
# 11 + 4 = 15.
PER_CHUNK = {"postgresql": 4 + 4, "sqlite": 2 + 1 + 8 + 4}
# The statement's hash step (saka.grains.runs.statements), one chunk per apply key range that
# stored no leaf (none here: only a run begun by an earlier version has some): the claim and
# the chunk's lock (PostgreSQL 2, SQLite 3), its work at most 4 (read the range's postings,
# insert the chunk leaf, mark the chunk done, the run's progress) and 4 BEGIN/COMMIT.
HASH_CHUNK = {"postgresql": 2 + 4 + 4, "sqlite": 3 + 4 + 4}

# A run's fixed cost, the same on both backends: opening it 9 (the earlier-run check, the find
# and the earlier-run check of ``open_run``, BEGIN, the highest wallet id, the season of its
# as_of, the run's insert,
# its first step's chunks, COMMIT), joining it 5 (two status updates, the dead leases freed in
# their transaction), the end of each chunked step 10 (the loop's run read, the claim that
# finds nothing, the step's state, then under the run's lock in its transaction the state
# again and the next phase), the system account a step books to 1, each single step 5 (the
# loop's read, its transaction with the run's lock and the next phase) plus its work (the
# redistribution's prepare: 11, the pot's booking and the credit chunks' plan; its settle: 0
# with nothing left over), finishing it 7 (the loop's read, the finish under the run's lock
# in its transaction, the read that sees it done, the run returned) plus the redistribution's
# outcome (1: is there a pot return?); publishing its statement in the finishing transaction
# 5 (is it published, the postings' keyset batch -- one per 10,000 postings --, the chain's
# lock on PostgreSQL, its tail, the insert) plus the redistribution's pot return (1).
OPEN, JOIN, STEP_END, SYSTEM, SINGLE, FINISH, PUBLISH = 9, 5, 10, 1, 5, 7, 5
FIXED = {
    "compost": OPEN + JOIN + (STEP_END + SYSTEM) + STEP_END + FINISH + PUBLISH,
    "redistribution": OPEN
    + JOIN
    + STEP_END  # freeze
    + (SINGLE + 11)  # prepare
    + (STEP_END + SYSTEM)  # credit
    + SINGLE  # settle
    + STEP_END  # hash
    + (FINISH + 1)
    + (PUBLISH + 1),
}


def per_chunk_max(kind: str = "compost") -> int:
    """Queries a key range may cost (see ``PER_CHUNK``). A redistribution does up to two
    chunks per key range: a credit chunk, and a freeze chunk (one per ``FREEZE_CHUNK_FACTOR``
    key ranges, rounded up)."""
    per_step = PER_CHUNK[connection.vendor]
    return per_step * (2 if kind == "redistribution" else 1) + HASH_CHUNK[connection.vendor]


def chunks_of(run: Run, *, hashing: bool = False) -> int:
    """The chunks a run did: every step's but the hash step's, or the hash step's."""
    chunks = RunChunk.objects.filter(run_id=run.pk)
    if hashing:
        return chunks.filter(step=RunChunkStep.HASH).count()
    return chunks.exclude(step=RunChunkStep.HASH).count()


def _queries(start, **kwargs) -> tuple[int, Run]:
    with CaptureQueriesContext(connection) as ctx:
        run = start(**kwargs)
    return len(ctx.captured_queries), run


# Two runs of a kind whose eligible set is the same: compost at A and one window later (the
# idle wallets compost again, the others acted after A); redistribution at A and a month
# later (the active wallets acted 10 days before A, the others 200 days before).
TWICE = {
    "compost": (compost_run_start, A, A + 90 * DAY, A + DAY),
    "redistribution": (redistribution_run_start, A, A + 31 * DAY, A - 10 * DAY),
}


def _population(n: int, *, prefix: str, kind: str, offset: int = 0) -> list[int]:
    """n wallets, balances 50..5049 like the seed, half of them eligible at both instants of
    ``TWICE[kind]`` and half at neither, mixed so that any slice has both."""
    other = TWICE[kind][3]
    return bulk_wallets(
        [
            (50 + ((i + offset) * 7919) % 5000, A - 200 * DAY if (i * 53) % 7 < 4 else other)
            for i in range(1, n + 1)
        ],
        prefix=prefix,
        as_of=A,
    )


def _system_accounts(make_wallet, kind: str) -> None:
    """The silo and pool exist before the measured runs (their first use creates them); the
    redistribution gets a silo from wallets idle at both instants, the compost none (those
    wallets would compost again at the second instant)."""
    if kind == "redistribution":
        fill_silo(make_wallet, [50_000, 50_000], at=A - 7 * DAY)
    system_account_id(AccountKind.SILO)
    system_account_id(AccountKind.POOL)


@ids_from_one
@override_settings(SAKA_REDISTRIBUTION_RATE="0.5", SAKA_RUN_WORKERS=1)  # queries of this thread
@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_run_queries_grow_with_chunks_not_wallets(kind, make_wallet):
    # given 300 wallets (and a silo to redistribute twice)
    start, first, second, _ = TWICE[kind]
    _system_accounts(make_wallet, kind)
    ids = _population(300, prefix="q", kind=kind)
    # when the run is made with chunks of 10, then on the same eligible set with chunks of 100
    n10, run10 = _queries(start, as_of=first, chunk_size=10)
    n100, run100 = _queries(start, as_of=second, chunk_size=100)
    # then it did the same work, and the extra queries are a few per extra chunk
    assert run10.wallets_done == run100.wallets_done > 100
    extra_chunks = run10.chunks_done - run100.chunks_done
    assert extra_chunks >= max(ids) // 10 - max(ids) // 100 - 1
    per_chunk = (n10 - n100) / extra_chunks
    assert 1 <= per_chunk <= per_chunk_max(kind)
    # and each run costs at most its fixed cost plus one chunk's per chunk it did (any step)
    for n, run in ((n10, run10), (n100, run100)):
        hashing = HASH_CHUNK[connection.vendor] * chunks_of(run, hashing=True)
        assert n <= FIXED[kind] + PER_CHUNK[connection.vendor] * chunks_of(run) + hashing


@ids_from_one
@override_settings(SAKA_REDISTRIBUTION_RATE="0.5", SAKA_RUN_WORKERS=1)  # queries of this thread
@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_run_queries_do_not_grow_with_wallets_in_one_chunk(kind, make_wallet):
    # given 50 wallets, all in one chunk
    start, first, second, _ = TWICE[kind]
    _system_accounts(make_wallet, kind)
    _population(50, prefix="s", kind=kind)
    n50, run50 = _queries(start, as_of=first, chunk_size=1000)
    # when 450 more wallets join (still one chunk) and the next run comes
    _population(450, prefix="l", kind=kind, offset=50)
    n500, run500 = _queries(start, as_of=second, chunk_size=1000)
    # then the run did ten times the work with the same number of queries (PostgreSQL: one
    # statement per chunk); SQLite only adds its insert batches of 999 parameters
    assert run50.chunks_done == run500.chunks_done == 1
    assert run500.wallets_done > 5 * run50.wallets_done > 0
    if is_postgres():
        assert n500 == n50
    else:
        assert n50 <= n500 <= n50 + math.ceil(run500.wallets_done * 4 / 999)


@ids_from_one
@override_settings(SAKA_RUN_WORKERS=1)  # the queries of this thread's connection
def test_a_run_pins_its_query_count(make_wallet, django_assert_max_num_queries):
    # given 120 wallets; chunks of 50 walk the key range from 0 to the highest wallet id
    ids = _population(120, prefix="p", kind="compost")
    chunks = math.ceil(max(ids) / 50)
    # when the compost runs, then it takes at most its fixed cost (and the silo's creation on
    # first use: its insert and a read again) plus a chunk's queries per chunk
    with django_assert_max_num_queries(FIXED["compost"] + 2 + per_chunk_max() * chunks):
        run = compost_run_start(as_of=A, chunk_size=50)
    assert run.chunks_done == chunks
    assert run.wallets_done > 0


# --- runs write the postings the summary reports ----------------------------------------------


@ids_from_one
def test_run_figures_equal_what_was_booked(make_wallet):
    # given a population composted and redistributed
    fill_silo(make_wallet, [3000, 4000], at=A - 7 * DAY)
    _population(150, prefix="b", kind="redistribution")
    compost = compost_run_start(as_of=A, chunk_size=40)
    redistribution = redistribution_run_start(as_of=A, chunk_size=40)
    # then the run rows' figures are exactly the postings of each run
    taken, credited = composted(compost), credits(redistribution)
    assert (compost.wallets_done, compost.amount_done) == (len(taken), sum(taken.values()))
    assert (redistribution.wallets_done, redistribution.amount_done) == (
        len(credited),
        sum(credited.values()),
    )
    assert set(credited.values()) == {redistribution.per_wallet}
    assert redistribution.amount_done == redistribution.per_wallet * redistribution.eligible_wallets
    assert system_balance(AccountKind.SILO) == redistribution.silo_after
    assert sum(w.balance for w in db_wallets().values()) + redistribution.silo_after == sum(
        SakaEntry.objects.filter(kind=EntryKind.HARVEST).values_list("amount", flat=True)
    )
