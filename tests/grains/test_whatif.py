"""The what-if: each side equals a dry run at its parameters, to the grain (hypothesis, on the
database DATABASE_URL names), its differences equal the reference model's, it writes nothing
but its record; the distribution of the amounts is exact."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from saka.core.errors import ValidationError
from saka.core.money import MAX_BALANCE
from saka.grains.accounts import system_account_id
from saka.grains.models import AccountKind, PolicyWhatIf, Run, SakaAccount
from saka.grains.policy import Policy, policy_candidate, policy_defaults
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.whatif import _compost_side, policy_whatif, whatif_compute
from tests.support.runs_reference import (
    CompostRules,
    RedistributionRules,
    Wallet,
    bulk_wallets,
    compost_amount,
    ledger_snapshot,
    redistribution_eligible,
)

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
_examples = itertools.count(1)

RATES = st.one_of(
    st.sampled_from(["1", "0.29", "0.1", "0.05", "0.333", "0.0001"]),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4).map(str),
)


@st.composite
def parameters(draw: Any) -> dict[str, Any]:
    return {
        "compost_rate": draw(RATES),
        "compost_inactivity_days": draw(st.integers(1, 365)),
        "compost_min_balance": draw(st.integers(0, 500)),
        "compost_min_amount": draw(st.integers(1, 200)),
        "redistribution_rate": draw(RATES),
        "redistribution_min_harvested": draw(st.integers(0, 300)),
        "redistribution_active_days": draw(st.one_of(st.just(0), st.integers(1, 400))),
    }


WALLETS = st.lists(
    st.builds(
        Wallet,
        balance=st.one_of(st.integers(0, 6000), st.integers(0, 120), st.just(MAX_BALANCE - 1)),
        last_activity_at=st.one_of(st.none(), st.integers(0, 400).map(lambda d: AS_OF - d * DAY)),
        last_composted_at=st.one_of(st.none(), st.integers(1, 400).map(lambda d: AS_OF - d * DAY)),
        lifetime_harvested=st.integers(0, 400),
    ),
    max_size=25,
)


def _settings_of(p: dict[str, Any]) -> dict[str, Any]:
    return {f"SAKA_{name.upper()}": value for name, value in p.items()}


def _population(wallets: list[Wallet], silo: int, k: int) -> None:
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"wi{k}-{i}", password="!") for i in range(len(wallets))]
    )
    SakaAccount.objects.bulk_create(
        [
            SakaAccount(
                kind=AccountKind.WALLET,
                member_id=u.pk,
                balance=w.balance,
                last_activity_at=w.last_activity_at,
                last_composted_at=w.last_composted_at,
                lifetime_harvested=w.lifetime_harvested,
            )
            for u, w in zip(users, wallets, strict=True)
        ]
    )
    SakaAccount.objects.filter(pk=system_account_id(AccountKind.SILO)).update(balance=silo)


def _dry_runs(p: dict[str, Any]) -> tuple[Run, Run]:
    with override_settings(**_settings_of(p)):
        return (
            compost_run_start(as_of=AS_OF, dry_run=True),
            redistribution_run_start(as_of=AS_OF, dry_run=True),
        )


def _assert_side_is_the_dry_run(side: dict[str, Any], compost: Run, redis: Run) -> None:
    assert side["compost"].wallets == compost.wallets_done
    assert side["compost"].grains == compost.amount_done
    r = side["redistribution"]
    assert r.outcome == redis.outcome
    assert r.pot == redis.pot
    assert r.eligible_wallets == redis.eligible_wallets
    assert r.per_wallet == redis.per_wallet
    assert r.credited_wallets == redis.wallets_done
    assert r.credited == redis.amount_done


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wallets=WALLETS,
    silo=st.one_of(st.integers(0, 10**6), st.just(0)),
    baseline=parameters(),
    candidate=parameters(),
)
def test_each_side_equals_a_dry_run_at_its_parameters(
    wallets: list[Wallet], silo: int, baseline: dict[str, Any], candidate: dict[str, Any]
) -> None:
    k = next(_examples)
    savepoint = transaction.savepoint()
    try:
        # given a random population and silo, the rules in force and a candidate
        _population(wallets, silo, k)
        with override_settings(**_settings_of(baseline)):
            base = policy_defaults()
        cand = policy_candidate(candidate, base=base)
        before = ledger_snapshot()
        # when the what-if applies both to every wallet
        result = whatif_compute(candidate=cand, baseline=base, as_of=AS_OF)
        # then it wrote nothing, and each side is the dry run at its parameters
        assert ledger_snapshot() == before
        _assert_side_is_the_dry_run(result.baseline, *_dry_runs(baseline))
        _assert_side_is_the_dry_run(result.candidate, *_dry_runs(candidate))
        # and the differences are the reference model's, wallet by wallet
        rules = [
            (
                CompostRules(
                    p["compost_inactivity_days"],
                    p["compost_rate"],
                    p["compost_min_balance"],
                    p["compost_min_amount"],
                ),
                RedistributionRules(
                    p["redistribution_rate"],
                    p["redistribution_min_harvested"],
                    p["redistribution_active_days"],
                ),
            )
            for p in (baseline, candidate)
        ]
        taken = [[compost_amount(w, c, AS_OF) for c, _ in rules] for w in wallets]
        gets = [[redistribution_eligible(w, r, AS_OF) for _, r in rules] for w in wallets]
        d = result.difference
        assert d.start_composting == sum(1 for b, c in taken if b == 0 < c)
        assert d.stop_composting == sum(1 for b, c in taken if c == 0 < b)
        assert d.amount_changed == sum(1 for b, c in taken if b and c and b != c)
        assert d.grains_moved == sum(c - b for b, c in taken)
        assert d.start_receiving == sum(1 for b, c in gets if c and not b)
        assert d.stop_receiving == sum(1 for b, c in gets if b and not c)
        assert result.wallets >= len(wallets)
    finally:
        transaction.savepoint_rollback(savepoint)


def test_the_amounts_distribution_is_exact() -> None:
    # given 10 wallets composting 1..10 grains and 90 composting 100
    side = _compost_side([(a, 1) for a in range(1, 11)] + [(100, 90)])
    # then the percentiles are nearest-rank and the bands add up
    assert side.wallets == 100
    assert side.grains == 55 + 9000
    assert side.percentiles == {
        "p10": 10,
        "p25": 100,
        "p50": 100,
        "p75": 100,
        "p90": 100,
        "p99": 100,
        "max": 100,
    }
    bands = {b["band"]: (b["wallets"], b["grains"]) for b in side.bands}
    assert bands["1-9"] == (9, 45)
    assert bands["10-49"] == (1, 10)
    assert bands["100-499"] == (90, 9000)
    assert sum(w for w, _ in bands.values()) == 100


def test_nothing_composts_gives_no_percentiles() -> None:
    side = _compost_side([])
    assert (side.wallets, side.grains, side.percentiles) == (0, 0, {})


def test_the_pass_is_three_queries(django_assert_num_queries: Any) -> None:
    # given the defaults and a candidate
    base = policy_defaults()
    cand = policy_candidate({"compost_rate": "0.2"}, base=base)
    # when the what-if runs: the last wallet id, the silo, the grouped pass
    with django_assert_num_queries(3):
        whatif_compute(candidate=cand, baseline=base, as_of=AS_OF)


def test_the_recorded_whatif_holds_both_sides(staff_user: Any) -> None:
    # given one idle wallet of 1,000 grains
    bulk_wallets([(1000, AS_OF - 200 * DAY)], prefix="rec", as_of=AS_OF - 300 * DAY)
    # when a what-if of a 20 % compost rate is recorded
    whatif = policy_whatif(changes={"compost_rate": "0.20"}, actor_id=None, as_of=AS_OF)
    # then its record has the candidate, the baseline and the figures
    assert whatif.parameters["compost_rate"] == "0.20"
    assert whatif.baseline == policy_defaults().parameters()
    assert whatif.baseline_version_id is None
    assert whatif.result["baseline"]["compost"]["grains"] == 100
    assert whatif.result["candidate"]["compost"]["grains"] == 200
    assert whatif.result["difference"]["grains_moved"] == 100


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"compost_rate": "0"}, "compost_rate"),
        ({"compost_rate": "1.5"}, "compost_rate"),
        ({"compost_rate": "abc"}, "compost_rate"),
        ({"compost_inactivity_days": 0}, "compost_inactivity_days"),
        ({"compost_inactivity_days": "90"}, "compost_inactivity_days"),
        ({"redistribution_active_days": 4000}, "redistribution_active_days"),
        ({"compost_min_amount": True}, "compost_min_amount"),
        ({"silo_rate": "0.1"}, "silo_rate"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    # when a what-if is asked with a bad parameter
    with pytest.raises(ValidationError) as refused:
        policy_whatif(changes=changes, actor_id=None, as_of=AS_OF)
    # then it is refused naming it, and nothing is recorded
    assert refused.value.data["field"] == field
    assert not PolicyWhatIf.objects.exists()


@override_settings(SAKA_POLICY_BOUNDS={"compost_rate": ["0.01", "0.30"]})
def test_the_settings_narrow_the_bounds() -> None:
    with pytest.raises(ValidationError) as refused:
        policy_candidate({"compost_rate": "0.5"}, base=policy_defaults())
    assert refused.value.data == {"field": "compost_rate", "low": "0.01", "high": "0.30"}
    assert policy_candidate({"compost_rate": "0.3"}, base=policy_defaults()).compost.rate == (
        Decimal("0.3")
    )


def test_the_candidate_keeps_what_it_does_not_change() -> None:
    base = policy_defaults()
    cand = policy_candidate({"redistribution_active_days": 30}, base=base)
    assert cand.compost == base.compost
    assert cand.redistribution.active_days == 30
    assert Policy.of_parameters(cand.parameters()) == cand
