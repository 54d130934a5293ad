"""The real server's probe (bench.server_load): its request plans and its checks, without a
server (the quick benchmark in test_bench_quick runs it end to end against gunicorn)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from bench.dbs import BenchError
from bench.server_load import (
    BOOKS,
    HARVEST_SLOTS,
    SECRET,
    WRITES,
    _check_phase,
    mixed_lines,
    phase_lines,
)
from saka.euro.payments.webhooks import signature_verify
from saka.grains.conf import HARVEST_RULES

SEEDED: dict[str, Any] = {
    "platform_token": "p" * 40,
    "project_id": 7,
    "campaign_id": 3,
    "tokens": [[m, f"{m:040d}"] for m in range(1, 11)],
}


def _fields(line: str) -> tuple[str, str, str, dict[str, str]]:
    method, path, body, *rest = line.split("\t")
    return method, path, body, dict(zip(rest[::2], rest[1::2], strict=True))


@pytest.mark.parametrize("phase", WRITES)
def test_every_write_has_its_own_idempotency_key_or_event(phase: str) -> None:
    lines = phase_lines(phase, SEEDED, count=60, funded=[1, 2], tag="t")
    assert len(lines) == 60
    if phase == "deposit":
        ids = [json.loads(_fields(line)[2])["id"] for line in lines]
    else:
        ids = [_fields(line)[3]["Idempotency-Key"] for line in lines]
    assert len(set(ids)) == 60


def test_harvests_stay_within_every_reasons_daily_limit_across_phases() -> None:
    harvest = phase_lines("harvest", SEEDED, count=100, funded=(), tag="t")
    mixed = mixed_lines(SEEDED, count=5 * 40, funded=[1], tag="t", harvest_start=100)
    used: Counter[tuple[int, str]] = Counter()
    for line in harvest + mixed:
        _method, path, body, _headers = _fields(line)
        if path.endswith("/platform/saka/harvests/"):
            data = json.loads(body)
            used[(data["member_id"], data["reason"])] += 1
    assert sum(used.values()) == 140
    assert all(n <= HARVEST_RULES[reason].daily_limit for (_m, reason), n in used.items())


def test_more_harvests_than_the_members_can_be_granted_is_refused_up_front() -> None:
    with pytest.raises(BenchError, match="harvest"):
        phase_lines("harvest", SEEDED, count=10 * len(HARVEST_SLOTS) + 1, funded=(), tag="t")


def test_deposits_are_signed_as_the_provider_signs_them() -> None:
    from datetime import UTC, datetime

    (line,) = phase_lines("deposit", SEEDED, count=1, funded=(), tag="t")
    _method, _path, body, headers = _fields(line)
    signature_verify(
        payload=body.encode(),
        header=headers["Stripe-Signature"],
        secret=SECRET,
        tolerance_seconds=300,
        at=datetime.now(UTC),
    )


def test_pledges_come_from_the_funded_members_only() -> None:
    lines = phase_lines("pledge", SEEDED, count=9, funded=[4, 5, 6], tag="t")
    tokens = {_fields(line)[3]["Authorization"] for line in lines}
    assert tokens == {f"Token {m:040d}" for m in (4, 5, 6)}


def _result(**over: Any) -> dict[str, Any]:
    base = {
        "ok": 100,
        "connections": 4,
        "statuses": {"201": 100},
        "errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        "wrapped": 0,
    }
    return {**base, **over}


def test_a_phase_that_booked_what_it_answered_has_no_problem() -> None:
    # in-flight requests when wrk stops: booked, never counted (up to the connections)
    assert _check_phase("plant", _result(), {BOOKS["plant"]: 103}) == []


@pytest.mark.parametrize(
    ("result", "booked", "problem"),
    [
        (_result(), {BOOKS["plant"]: 99}, "100 answered 2xx but 99 entries booked"),
        (_result(), {BOOKS["plant"]: 105}, "100 answered 2xx but 105 entries booked"),
        (_result(statuses={"201": 100, "409": 2}), {BOOKS["plant"]: 100}, "non-2xx"),
        (_result(wrapped=1), {BOOKS["plant"]: 100}, "ran out"),
        (
            _result(),
            {BOOKS["plant"]: 100, BOOKS["harvest"]: 1},
            "unexpected entries booked",
        ),
    ],
)
def test_a_phase_that_booked_otherwise_is_a_problem(
    result: dict[str, Any], booked: dict[tuple[str, str], int], problem: str
) -> None:
    problems = _check_phase("plant", result, booked)
    assert problems
    assert problem in problems[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_missing_wrk_refuses_the_benchmark_before_any_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """saka_bench checks for wrk first: without it, the command stops before the runs it
    would have measured (a full benchmark used to fail after 20 minutes, writing nothing)."""
    from django.core.management import CommandError, call_command

    from bench.management.commands import saka_bench

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the benchmark started without wrk")

    monkeypatch.setattr("bench.server_load.shutil.which", lambda name: None)
    monkeypatch.setattr(saka_bench, "run_bench", never)
    with pytest.raises(CommandError, match="wrk is not installed"):
        call_command("saka_bench", "--sizes", "1000", "--no-docs")
    # --no-server needs no wrk: the command goes on to the runs
    with pytest.raises(AssertionError, match="without wrk"):
        call_command("saka_bench", "--sizes", "1000", "--no-server", "--no-docs")
