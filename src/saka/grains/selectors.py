"""SAKA reads: a member's wallet and history, harvest usage, compost preview, their assets
overview; silo, statistics, runs; the public SAKA settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from saka.core.clock import day_bounds, ensure_aware, now
from saka.core.errors import ValidationError
from saka.core.members import login_field, operator_accounts
from saka.grains.conf import HARVEST_RULES, get_settings
from saka.grains.errors import RunNotFound
from saka.grains.models import (
    AccountKind,
    EntryKind,
    Run,
    RunKind,
    RunStatus,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
from saka.grains.policy import policy_current
from saka.projects.selectors import projects_with_totals


@dataclass(frozen=True)
class WalletSummary:
    member_id: int
    balance: int
    lifetime_harvested: int
    lifetime_planted: int
    lifetime_composted: int
    lifetime_redistributed: int
    last_activity_at: datetime | None
    last_composted_at: datetime | None


def wallet_summary(*, member_id: int) -> WalletSummary:
    """The member's wallet; an empty one when the member never used SAKA (nothing is created)."""
    wallet = SakaAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id).first()
    if wallet is None:
        return WalletSummary(member_id, 0, 0, 0, 0, 0, None, None)
    return WalletSummary(
        member_id=member_id,
        balance=wallet.balance,
        lifetime_harvested=wallet.lifetime_harvested,
        lifetime_planted=wallet.lifetime_planted,
        lifetime_composted=wallet.lifetime_composted,
        lifetime_redistributed=wallet.lifetime_redistributed,
        last_activity_at=wallet.last_activity_at,
        last_composted_at=wallet.last_composted_at,
    )


def wallet_history(*, member_id: int, kind: str | None = None) -> QuerySet[SakaPosting]:
    """The member's postings, newest first, with their entry; optionally of one entry kind."""
    if kind is not None and kind not in EntryKind.values:
        raise ValidationError(f"kind must be one of {', '.join(EntryKind.values)}.", field="kind")
    wallet_id = (
        SakaAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id)
        .values_list("id", flat=True)
        .first()
    )
    if wallet_id is None:
        return SakaPosting.objects.none()
    # Two index paths, one per kind of posting (see SakaPosting.Meta): the member's own
    # postings by (account, id), and a run's by its (run, wallet) key, one probe per live run.
    run_ids = list(Run.objects.filter(dry_run=False).values_list("id", flat=True))
    qs = (
        SakaPosting.objects.filter(
            Q(account_id=wallet_id, run_id__isnull=True)
            | Q(account_id=wallet_id, run_id__in=run_ids)
        )
        .select_related("entry")
        .order_by("-id")
    )
    if kind is not None:
        qs = qs.filter(entry__kind=kind)
    return qs


def harvest_usage(*, member_id: int, as_of: datetime | None = None) -> dict[str, dict[str, int]]:
    """For each reason: harvests used today (in ``SAKA_TIME_ZONE``) and the daily limit."""
    start, end = day_bounds(ensure_aware(as_of or now()), get_settings().time_zone)
    counts = dict(
        SakaEntry.objects.filter(
            member_id=member_id, kind=EntryKind.HARVEST, created_at__gte=start, created_at__lt=end
        )
        .values("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    return {
        reason: {"used": counts.get(reason, 0), "daily_limit": rule.daily_limit}
        for reason, rule in HARVEST_RULES.items()
    }


# --- compost preview, silo, statistics, runs ---------------------------------------------------


@dataclass(frozen=True)
class CompostPreview:
    """A member's next compost, readable as it stands:

    - ``amount``: what a compost run now would take (0 unless ``eligible``);
    - ``amount_if_idle``: what it will take once the wallet is idle, at today's balance (0 when
      the balance or the amount is below its minimum: waiting changes nothing);
    - ``eligible_at``: from when a compost run takes ``amount_if_idle`` if the wallet stays idle
      (``as_of`` when eligible now; None when waiting changes nothing);
    - ``days_until_eligible``: whole days until ``eligible_at`` (0 when eligible now or never).
    """

    member_id: int
    balance: int
    eligible: bool
    amount: int
    amount_if_idle: int
    eligible_at: datetime | None
    days_until_eligible: int
    reason: str  # why nothing would be composted now ("" when eligible)


def compost_preview(*, member_id: int, as_of: datetime | None = None) -> CompostPreview:
    """What the next compost run would take from this member's wallet, and when.

    Same rule as the run (``saka.grains.rules.CompostRule``): balance >= min balance, idle
    and not composted for ``inactivity_days``, amount = floor(balance x rate) >= min amount.
    """
    return _compost_preview_of(wallet_summary(member_id=member_id), ensure_aware(as_of or now()))


def _compost_preview_of(wallet: WalletSummary, at: datetime) -> CompostPreview:
    rule = policy_current(at=at).compost
    reason = rule.refusal(
        balance=wallet.balance,
        last_activity_at=wallet.last_activity_at,
        last_composted_at=wallet.last_composted_at,
        as_of=at,
    )
    waits_for_idle = reason in ("", "recently_active")  # only time is missing, if anything
    idle_from = rule.idle_from(
        last_activity_at=wallet.last_activity_at, last_composted_at=wallet.last_composted_at
    )
    amount_if_idle = rule.amount(wallet.balance) if waits_for_idle else 0
    eligible_at: datetime | None = None  # waiting changes nothing
    if not reason:
        eligible_at = at
    elif waits_for_idle:
        eligible_at = idle_from
    return CompostPreview(
        member_id=wallet.member_id,
        balance=wallet.balance,
        eligible=not reason,
        amount=amount_if_idle if not reason else 0,
        amount_if_idle=amount_if_idle,
        eligible_at=eligible_at,
        days_until_eligible=rule.days_until_idle(
            last_activity_at=wallet.last_activity_at,
            last_composted_at=wallet.last_composted_at,
            as_of=at,
        )
        if waits_for_idle
        else 0,
        reason=reason,
    )


@dataclass(frozen=True)
class MemberSakaAssets:
    """The SAKA side of a member's assets overview: the balance, the wallet's lifetime
    counters (harvested, planted, composted away, received from redistributions) and the
    next compost forecast (:func:`compost_preview`)."""

    member_id: int
    balance: int
    lifetime_harvested: int
    lifetime_planted: int
    lifetime_composted: int
    lifetime_redistributed: int
    next_compost: CompostPreview


def member_assets_saka(*, member_id: int, as_of: datetime | None = None) -> MemberSakaAssets | None:
    """The member's SAKA assets (zeros when they never used SAKA; nothing is created), from
    the wallet's own counters: one query. ``None`` while SAKA is off (``SAKA_ENABLED``)."""
    if not get_settings().enabled:
        return None
    wallet = wallet_summary(member_id=member_id)
    return MemberSakaAssets(
        member_id=member_id,
        balance=wallet.balance,
        lifetime_harvested=wallet.lifetime_harvested,
        lifetime_planted=wallet.lifetime_planted,
        lifetime_composted=wallet.lifetime_composted,
        lifetime_redistributed=wallet.lifetime_redistributed,
        next_compost=_compost_preview_of(wallet, ensure_aware(as_of or now())),
    )


@dataclass(frozen=True)
class SakaPublicSettings:
    """What a front end may know of the SAKA settings. Every SAKA feature follows the master
    switch ``SAKA_ENABLED`` (there is no finer switch): ``boosts`` (planting grains on a
    project), ``compost`` (the weekly compost run) and ``redistribution`` (the monthly one)
    are on exactly when SAKA is. ``boost_cost``: a boost's default cost (``SAKA_BOOST_COST``)."""

    currency: str
    enabled: bool
    boosts: bool
    compost: bool
    redistribution: bool
    boost_cost: int


SAKA_CURRENCY = "SAKA"  # grains: integers, no decimal places


def saka_public_settings() -> SakaPublicSettings:
    cfg = get_settings()
    return SakaPublicSettings(
        currency=SAKA_CURRENCY,
        enabled=cfg.enabled,
        boosts=cfg.enabled,
        compost=cfg.enabled,
        redistribution=cfg.enabled,
        boost_cost=cfg.boost_cost,
    )


@dataclass(frozen=True)
class SiloSummary:
    balance: int
    in_transit: int
    lifetime_composted: int
    lifetime_redistributed: int
    last_compost_run_id: int | None
    last_redistribution_run_id: int | None


def system_balances() -> dict[str, int]:
    """The silo's and the pool's balances (grains; 0 before the account exists): one query."""
    found = dict(
        SakaAccount.objects.filter(kind__in=[AccountKind.SILO, AccountKind.POOL]).values_list(
            "kind", "balance"
        )
    )
    return {k.value: int(found.get(k, 0)) for k in (AccountKind.SILO, AccountKind.POOL)}


def silo_summary() -> SiloSummary:
    system = system_balances()
    totals = SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(
        composted=Coalesce(Sum("lifetime_composted"), 0),
        redistributed=Coalesce(Sum("lifetime_redistributed"), 0),
    )

    def last(kind: str) -> int | None:
        return (
            Run.objects.filter(kind=kind, dry_run=False, status=RunStatus.DONE)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )

    return SiloSummary(
        balance=system.get(AccountKind.SILO, 0),
        in_transit=system.get(AccountKind.POOL, 0),
        lifetime_composted=totals["composted"],
        lifetime_redistributed=totals["redistributed"],
        last_compost_run_id=last(RunKind.COMPOST),
        last_redistribution_run_id=last(RunKind.REDISTRIBUTION),
    )


def saka_stats(*, as_of: datetime | None = None, days: int = 30, top: int = 10) -> dict[str, Any]:
    """Global figures, a daily series of the last ``days`` days and the top members/projects.

    Averages are decimal strings with two places (no float anywhere near grains).
    """
    if not 1 <= days <= 366 or not 1 <= top <= 100:
        raise ValidationError("days must be in 1..366 and top in 1..100.")
    cfg = get_settings()
    at = ensure_aware(as_of or now())
    # members' wallets only: an operator account's (from before they were refused) is not counted
    wallets = SakaAccount.objects.filter(kind=AccountKind.WALLET).exclude(
        member_id__in=operator_accounts().values("pk")
    )
    totals = wallets.aggregate(
        wallets=Count("id"),
        members_with_saka=Count("id", filter=Q(balance__gt=0)),
        total_balance=Coalesce(Sum("balance"), 0),
        total_harvested=Coalesce(Sum("lifetime_harvested"), 0),
        total_planted=Coalesce(Sum("lifetime_planted"), 0),
        total_composted=Coalesce(Sum("lifetime_composted"), 0),
        total_redistributed=Coalesce(Sum("lifetime_redistributed"), 0),
    )
    holders = totals["members_with_saka"]
    average = (Decimal(totals["total_balance"]) / holders) if holders else Decimal(0)
    start = day_bounds(at - timedelta(days=days - 1), cfg.time_zone)[0]
    series_rows = (
        SakaEntry.objects.filter(created_at__gte=start, created_at__lte=at)
        .exclude(reason__in=["pot", "pot_return"])
        .annotate(day=TruncDate("created_at", tzinfo=cfg.time_zone))
        .values("day", "kind")
        .annotate(total=Sum("amount"))
        .order_by("day", "kind")
    )
    series: dict[str, dict[str, int]] = {}
    for row in series_rows:
        series.setdefault(row["day"].isoformat(), {})[row["kind"]] = row["total"]
    login = f"member__{login_field()}"  # the user model's USERNAME_FIELD, whatever its name
    top_members = list(
        wallets.filter(balance__gt=0)
        .order_by("-balance", "id")
        .values("member_id", login, "balance")[:top]
    )
    top_projects = [
        {
            "id": p["id"],
            "title": p["title"],
            "saka_score": p["score_total"],
            "saka_supporters": p["supporters_total"],
        }
        for p in projects_with_totals()
        .filter(score_total__gt=0)
        .order_by("-score_total", "id")
        .values("id", "title", "score_total", "supporters_total")[:top]
    ]
    return {
        **totals,
        "average_balance": str(average.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)),
        "silo": asdict(silo_summary()),
        "daily": [{"day": day, **kinds} for day, kinds in series.items()],
        "top_members": [
            {
                "member_id": m["member_id"],
                "username": m[login],
                "balance": m["balance"],
            }
            for m in top_members
        ],
        "top_projects": top_projects,
    }


def _spec_of(kind: str) -> Any:
    # the run kinds' engine specs (imported here: the runs import this module's neighbours)
    from saka.grains.runs.compost import COMPOST
    from saka.grains.runs.redistribution import REDISTRIBUTION

    return COMPOST if kind == RunKind.COMPOST else REDISTRIBUTION


def stalled_run_ids() -> list[int]:
    """Live runs nobody works on (interrupted, or no lease and no progress for a while)."""
    from saka.engine.lifecycle import stalled

    return [
        pk for kind in RunKind.values for pk in stalled(_spec_of(kind)).values_list("pk", flat=True)
    ]


def run_progress(run: Run) -> dict[str, Any]:
    """The run's current step: its chunks pending, leased and done, who holds each lease,
    and whether the run is stalled."""
    from saka.engine.lifecycle import chunk_summary, is_stalled

    spec = _spec_of(run.kind)
    if run.dry_run:
        return {"step": "dry_run", "phase": run.phase, "leases": [], "stalled": False}
    return {**chunk_summary(spec, run), "stalled": is_stalled(spec, run)}


def run_list(
    *, kind: str | None = None, dry_run: bool | None = None, stalled: bool | None = None
) -> QuerySet[Run]:
    qs = Run.objects.order_by("-id")
    if stalled is not None:
        ids = stalled_run_ids()
        qs = qs.filter(pk__in=ids) if stalled else qs.exclude(pk__in=ids)
    if kind is not None:
        if kind not in RunKind.values:
            raise ValidationError(f"kind must be one of {', '.join(RunKind.values)}.", field="kind")
        qs = qs.filter(kind=kind)
    if dry_run is not None:
        qs = qs.filter(dry_run=dry_run)
    return qs


def run_get(*, run_id: int) -> Run:
    run = Run.objects.filter(pk=run_id).first() if isinstance(run_id, int) else None
    if run is None:
        raise RunNotFound(run_id=run_id)
    return run


NOTHING_DONE = {
    "nothing_to_compost",
    "nothing_to_redistribute",
    "no_eligible_wallets",
    "share_rounds_to_zero",
}


def run_summary(run: Run, *, progress: bool = False) -> dict[str, Any]:
    """A run as plain data (commands' ``--json``, the REST API); with ``progress``, its
    chunks and leases too (a few more queries)."""
    summary: dict[str, Any] = {
        "run_id": run.pk,
        "kind": run.kind,
        "period": run.period,
        "dry_run": run.dry_run,
        "status": run.status,
        "outcome": run.outcome,
        "reason": run.outcome if run.outcome in NOTHING_DONE else None,
        "as_of": run.as_of.isoformat(),
        "trigger": run.trigger,
        "triggered_by": run.triggered_by_id,
        "parameters": run.parameters,
        "policy_version": run.policy_version_id,
        "cursor": run.cursor,
        "max_id": run.max_id,
        "chunks": run.chunks_done,
        "chunks_total": run.chunks_total,
        "phase": run.phase,
        "attempts": run.attempts,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_ms": run.duration_ms,
        "error": run.error or None,
    }
    if run.kind == RunKind.COMPOST:
        summary |= {"wallets_composted": run.wallets_done, "total_composted": run.amount_done}
    else:
        summary |= {
            "eligible_wallets": run.eligible_wallets,
            "per_wallet": run.per_wallet,
            "pot": run.pot,
            "wallets_credited": run.wallets_done,
            "total_redistributed": run.amount_done,
            "silo_before": run.silo_before,
            "silo_after": run.silo_after,
        }
    if progress:
        summary["progress"] = run_progress(run)
    return summary
