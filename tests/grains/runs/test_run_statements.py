"""Verifiable run statements (saka.grains.run_statements): each finished live run publishes
one statement, hash-chained to the previous; a member's proof verifies with sha256 alone;
a tampered statement or posting makes reconcile fail with the statement named."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import override_settings

from saka.grains import run_statements
from saka.grains.merkle import (
    EMPTY_ROOT,
    GENESIS,
    StreamingRoot,
    merkle_path,
    node_hash,
    proof_verify,
    statement_hash,
)
from saka.grains.models import (
    Run,
    RunChunk,
    RunChunkStep,
    RunStatement,
    RunStatementChunk,
    RunStatus,
    SakaPosting,
)
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.statement_proofs import statement_proof
from saka.ledger import append_only
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.run_rules import fill_silo, member_of
from tests.support.runs_reference import DAY

pytestmark = pytest.mark.django_db
CHECKS = ("run_statements_chain", "run_statements_match_books")


class Crash(BaseException):
    """A crash: not an Exception, so nothing under test catches it."""


@contextmanager
def _append_only_lifted(*tables: str):
    """Edit append-only rows behind the ledger's back (PostgreSQL: triggers skipped for the
    transaction, superuser only; SQLite: the triggers dropped and made again)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            yield
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            with connection.cursor() as cursor:
                for t in tables:
                    cursor.execute(f"DROP TRIGGER {t}_append_only")
            yield
            with connection.cursor() as cursor:
                for t in tables:
                    cursor.execute(append_only._sqlite(t).strip())


def _naive_root(leaves: list[bytes]) -> bytes:
    """Level by level, the odd last node promoted: the definition."""
    if not leaves:
        return EMPTY_ROOT
    level = leaves
    while len(level) > 1:
        level = [
            node_hash(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0]


def _statement_problems(seq: int | None = None) -> list:
    found = [d for d in reconcile().discrepancies if d.check in CHECKS]
    return [d for d in found if seq is None or d.data.get("seq") == seq]


@pytest.fixture
def redistributed(make_wallet):
    """A compost filling the silo, then a redistribution over seven members in chunks of 2."""
    fill_silo(make_wallet, [1000, 1370, 1000], at=A - 2 * DAY)
    active = [make_wallet(60, A - d * DAY) for d in range(7)]
    with override_settings(SAKA_REDISTRIBUTION_RATE="0.3"):
        run = redistribution_run_start(as_of=A, chunk_size=2)
    return run, active


# --- the tree ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 6, 7, 8, 13, 33])
def test_the_streamed_root_is_the_level_by_level_tree_and_every_path_folds_to_it(n):
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(n)]
    tree = StreamingRoot()
    for leaf in leaves:
        tree.add(leaf)
    assert tree.root() == _naive_root(leaves)
    for i, leaf in enumerate(leaves):
        node = leaf
        for step in merkle_path(leaves, i):
            sib = bytes.fromhex(step["hash"])
            node = node_hash(sib, node) if step["side"] == "L" else node_hash(node, sib)
        assert node == tree.root()


# --- publishing --------------------------------------------------------------------------------


def test_each_live_run_publishes_one_statement_chained_to_the_previous(redistributed):
    # given a compost then a redistribution (fixture)
    run, _active = redistributed
    # then two statements, seq 1 and 2, the second linked to the first
    first, second = RunStatement.objects.order_by("seq")
    assert (first.seq, first.kind, first.prev_hash) == (1, "compost", GENESIS)
    assert (second.seq, second.run_id, second.prev_hash) == (2, run.pk, first.hash)
    assert second.hash == statement_hash(first.hash, second.body)
    body = second.body
    assert (body["pot"], body["members_counted"], body["share"]) == (101, 7, 14)
    assert (body["credited"], body["remainder"], body["returned"], body["leaves"]) == (7, 3, 0, 7)
    assert body["eligibility"]["active_days"] >= 7
    assert len(second.chunks) == body["chunks"] >= 4  # chunks of 2 wallets
    assert first.body["wallets_composted"] == 3
    assert reconcile().ok


def test_a_dry_run_publishes_nothing_and_a_finished_run_is_not_published_again(make_wallet):
    make_wallet(1000, A - 100 * DAY)
    compost_run_start(as_of=A, dry_run=True)
    redistribution_run_start(as_of=A, dry_run=True)
    assert not RunStatement.objects.exists()
    run = compost_run_start(as_of=A)
    again = compost_run_start(as_of=A)  # the finished run, returned as it is
    assert again.pk == run.pk
    assert list(RunStatement.objects.values_list("run_id", flat=True)) == [run.pk]


def test_a_run_that_did_nothing_publishes_an_empty_tree(make_wallet):
    make_wallet(1000, A - DAY)  # active: not composted
    run = compost_run_start(as_of=A)
    (statement,) = RunStatement.objects.all()
    assert run.outcome == "nothing_to_compost"
    assert statement.merkle_root == EMPTY_ROOT.hex()
    assert (statement.body["leaves"], statement.chunks) == (0, [])


def test_a_run_crashed_while_publishing_is_not_done_and_publishes_once_when_resumed(
    make_wallet, monkeypatch
):
    # given a crash right after the statement's row is written, in the finishing transaction
    make_wallet(1000, A - 100 * DAY)

    def crash(*args, **kwargs):
        raise Crash

    monkeypatch.setattr(run_statements, "_published", crash)
    with pytest.raises(Crash):
        compost_run_start(as_of=A)
    # then the run is not done and no statement was kept
    run = Run.objects.get(dry_run=False)
    assert run.status == RunStatus.INTERRUPTED
    assert not RunStatement.objects.exists()
    # when it is resumed
    monkeypatch.undo()
    run = compost_run_start(as_of=A)
    # then it is done with exactly one statement
    assert run.status == RunStatus.DONE
    assert RunStatement.objects.filter(run_id=run.pk).count() == 1
    assert reconcile().ok


# --- proofs ------------------------------------------------------------------------------------


def test_every_credited_wallet_has_a_proof_that_verifies_and_a_wrong_amount_fails(
    redistributed, django_assert_max_num_queries
):
    run, active = redistributed
    for account_id in active:
        member_id = member_of(account_id)
        with django_assert_max_num_queries(4):
            found = statement_proof(run_id=run.pk, member_id=member_id)
        assert (found.status, found.amount) == ("credited", 14)
        assert proof_verify(found.proof)
        assert not proof_verify({**found.proof, "amount": 15})
        assert not proof_verify({**found.proof, "account_id": account_id + 1})


def test_a_composted_wallet_has_a_proof_and_an_active_one_is_not_composted(make_wallet):
    idle = make_wallet(1000, A - 100 * DAY)
    active = make_wallet(1000, A - DAY)
    run = compost_run_start(as_of=A, chunk_size=1)
    found = statement_proof(run_id=run.pk, member_id=member_of(idle))
    assert (found.status, found.amount) == ("composted", 100)
    assert proof_verify(found.proof)
    other = statement_proof(run_id=run.pk, member_id=member_of(active))
    assert (other.status, other.proof) == ("not_composted", None)
    assert other.parameters["rate"] == "0.10"


def test_a_member_not_counted_is_told_why(redistributed, member):
    # given a migrated wallet (never active) and a member without a wallet
    run, _ = redistributed
    composted_member = member_of(
        SakaPosting.objects.filter(run_id=run.pk - 1).values_list("account_id", flat=True)[0]
    )
    found = statement_proof(run_id=run.pk, member_id=composted_member)
    # then the rule's reason and its parameters
    assert (found.status, found.reason) == ("not_counted", "no_activity_in_window")
    assert found.parameters["min_harvested"] >= 1
    assert found.parameters["active_cutoff"] < found.parameters["as_of"]
    nobody = statement_proof(run_id=run.pk, member_id=member.pk)
    assert (nobody.status, nobody.reason) == ("not_counted", "no_wallet")


# --- tampering ---------------------------------------------------------------------------------


@pytest.mark.corrupts_books
def test_reconcile_names_a_statement_whose_body_was_edited(redistributed):
    run, _ = redistributed
    statement = RunStatement.objects.get(run_id=run.pk)
    with _append_only_lifted("grains_run_statement"):
        RunStatement.objects.filter(pk=statement.pk).update(body={**statement.body, "share": 15})
    (chain,) = [d for d in _statement_problems(statement.seq) if d.check == CHECKS[0]]
    assert "hash" in chain.data
    assert f"statement {statement.seq} (run {run.pk})" in chain.message
    books = [d for d in _statement_problems(statement.seq) if d.check == CHECKS[1]]
    assert books[0].data["share"] == {"statement": 15, "books": 14}


@pytest.mark.corrupts_books
def test_reconcile_names_the_statement_of_a_tampered_posting(redistributed):
    run, active = redistributed
    with _append_only_lifted("grains_posting"):
        SakaPosting.objects.filter(run_id=run.pk, account_id=active[3]).update(amount=20)
    (found,) = _statement_problems()
    assert (found.check, found.data["seq"], found.data["run_id"]) == (CHECKS[1], 2, run.pk)
    assert [c["lo"] for c in found.data["chunks"]] == [(active[3] - 1) // 2 * 2]


@pytest.mark.corrupts_books
def test_reconcile_names_the_statement_when_two_postings_swap_amounts(make_wallet):
    a = make_wallet(1000, A - 100 * DAY)
    b = make_wallet(2000, A - 100 * DAY)
    run = compost_run_start(as_of=A)
    assert not _statement_problems()
    with _append_only_lifted("grains_posting"):
        SakaPosting.objects.filter(run_id=run.pk, account_id=a).update(amount=-200)
        SakaPosting.objects.filter(run_id=run.pk, account_id=b).update(amount=-100)
    (found,) = _statement_problems()
    assert (found.check, found.data["seq"], found.data["run_id"]) == (CHECKS[1], 1, run.pk)
    assert "merkle_root" in found.data  # same count and total, another root


@pytest.mark.corrupts_books
def test_reconcile_names_a_deleted_statement(redistributed, make_wallet):
    # given a third statement after the redistribution's
    run, _ = redistributed
    make_wallet(1000, A - 100 * DAY)
    compost_run_start(as_of=A + 7 * DAY)
    # when the middle one is deleted
    with _append_only_lifted("grains_run_statement"):
        RunStatement.objects.filter(seq=2).delete()
    # then the chain names the gap at the next statement, and the run left without one
    found = _statement_problems()
    chain = [d for d in found if d.check == CHECKS[0]]
    assert chain[0].data["gap"] == {"expected": 2, "found": 3}
    assert [d.data["run_id"] for d in found if d.check == CHECKS[1]] == [run.pk]


@pytest.mark.corrupts_books
def test_the_verify_command_passes_then_names_a_tampered_statement(redistributed):
    # given the books as the runs left them
    run, active = redistributed
    out = StringIO()
    call_command("saka_statement_verify", stdout=out)
    assert "2 statement(s) verified" in out.getvalue()
    # when a credit is tampered with, then the command fails naming the run's statement
    with _append_only_lifted("grains_posting"):
        SakaPosting.objects.filter(run_id=run.pk, account_id=active[0]).update(amount=1)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("saka_statement_verify", "--run", str(run.pk), stdout=out)
    assert f"statement 2 (run {run.pk})" in out.getvalue()


def test_the_documented_snippet_verifies_a_proof(redistributed):
    # given the 10-line verifier of docs/statements.md and a member's proof
    run, active = redistributed
    text = (Path(__file__).parents[3] / "docs" / "statements.md").read_text()
    snippet = text.split("Verify a proof by hand")[1].split("```python\n")[1].split("```")[0]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 - our own documentation
    proof = statement_proof(run_id=run.pk, member_id=member_of(active[0])).proof
    # then it accepts the proof and refuses a wrong amount
    assert namespace["verify"](proof)
    assert not namespace["verify"]({**proof, "amount": proof["amount"] + 1})


def test_the_hash_step_stores_the_chunk_leaves_the_postings_give(redistributed):
    # given the redistribution (chunks of 2) and its statement
    run, _ = redistributed
    statement = RunStatement.objects.get(run_id=run.pk)
    # then the hash step's leaves are the ones recomputed from the postings, and the statement's
    stored = run_statements.stored_chunk_leaves(run)
    assert stored == list(run_statements.run_chunk_leaves(run))
    assert stored == list(run_statements.run_chunk_leaves(run, sql_leaves=True))
    assert [c.as_list() for c in stored] == statement.chunks
    assert run_statements.top_root(stored) == statement.merkle_root


def _wrap_leaf_writers(monkeypatch, wrap) -> None:
    """Wrap what stores a compost chunk's leaf: ``chunk_end_pg`` (PostgreSQL, keyword
    ``items``) and ``chunk_leaf_store`` (portable, positional ``items``)."""
    from saka.grains.runs import compost

    monkeypatch.setattr(compost, "chunk_end_pg", wrap(compost.chunk_end_pg))
    monkeypatch.setattr(compost, "chunk_leaf_store", wrap(compost.chunk_leaf_store))


def _without_leaf(real):
    """A leaf writer that books the chunk as before but stores no leaf (an earlier version)."""

    def writer(*args, **kwargs):
        if "items" in kwargs:
            return real(*args, **{**kwargs, "items": []})
        return None  # chunk_leaf_store: the leaf is all it writes

    return writer


def test_each_chunk_stores_its_leaf_and_the_hash_step_has_nothing_to_do(make_wallet):
    # given 5 idle wallets composted in chunks of 2
    for _ in range(5):
        make_wallet(1000, A - 100 * DAY)
    run = compost_run_start(as_of=A, chunk_size=2)
    # then every chunk that booked postings stored the leaf its postings give, and the hash
    # step planned no chunk
    stored = run_statements.stored_chunk_leaves(run)
    assert stored == list(run_statements.run_chunk_leaves(run))
    assert sum(c.count for c in stored) == 5
    assert not RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.HASH).exists()


def test_a_chunk_crashed_after_its_leaf_keeps_neither_leaf_nor_postings(make_wallet, monkeypatch):
    # given a crash in the second compost chunk that booked postings, after its leaf
    for _ in range(4):
        make_wallet(1000, A - 100 * DAY)
    calls = {"n": 0}

    def crash_second(real):
        def chunk_end(*args, **kwargs):
            done = real(*args, **kwargs)
            items = kwargs["items"] if "items" in kwargs else args[3]
            calls["n"] += 1 if items else 0
            if calls["n"] == 2:
                raise Crash
            return done

        return chunk_end

    _wrap_leaf_writers(monkeypatch, crash_second)
    with pytest.raises(Crash):
        compost_run_start(as_of=A, chunk_size=1)
    # then the first chunk's leaf and postings are kept, the second's neither
    run = Run.objects.get()
    assert RunStatementChunk.objects.filter(run_id=run.pk).count() == 1
    assert SakaPosting.objects.filter(run_id=run.pk).count() == 1
    # when it is resumed
    monkeypatch.undo()
    run = compost_run_start(as_of=A, chunk_size=1)
    # then one statement, whose tree is the postings'
    statement = RunStatement.objects.get()
    assert (statement.run_id, statement.body["leaves"]) == (run.pk, 4)
    assert statement.merkle_root == run_statements.top_root(
        list(run_statements.run_chunk_leaves(run))
    )
    assert reconcile().ok


def test_a_run_whose_chunks_stored_no_leaf_is_hashed_by_its_hash_step(make_wallet, monkeypatch):
    # given a run whose compost chunks stored no leaf (as a run begun by an earlier version,
    # before the chunks stored them), and a crash in the second chunk of its hash step
    for _ in range(4):
        make_wallet(1000, A - 100 * DAY)
    _wrap_leaf_writers(monkeypatch, _without_leaf)
    real = run_statements.chunk_leaf
    calls = {"n": 0}

    def crash_second(run, lo, hi):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash
        return real(run, lo, hi)

    monkeypatch.setattr("saka.grains.runs.statements.chunk_leaf", crash_second)
    with pytest.raises(Crash):
        compost_run_start(as_of=A, chunk_size=1)
    assert not RunStatement.objects.exists()
    run = Run.objects.get()
    assert RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.HASH).count() == 4
    # when it is resumed
    monkeypatch.undo()
    run = compost_run_start(as_of=A, chunk_size=1)
    # then the hash step hashed each chunk once, and one statement, whose tree is the postings'
    statement = RunStatement.objects.get()
    assert (statement.run_id, statement.body["leaves"]) == (run.pk, 4)
    assert RunStatementChunk.objects.filter(run_id=run.pk).count() == 4
    assert statement.merkle_root == run_statements.top_root(
        list(run_statements.run_chunk_leaves(run))
    )
    assert reconcile().ok
