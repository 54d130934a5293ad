"""The EUR book: accounts, entries, postings in integer cents; pockets, campaigns, pledges,
settlement runs (on the batch engine) and their chunks, payment webhook events.

Separate tables from the SAKA book (``grains_*``): the two currencies share no balance.

Accounts (``euro_account``), one row each:

- ``wallet``: a member's main balance (one per member);
- ``pocket``: one per pocket (:class:`Pocket` holds its name and percentage);
- ``escrow``: one per pledge. A pledge's hold is its own account, so pledging never writes a
  row shared with other members, the escrow balance *is* the hold (reconcile compares them),
  and the CHECK ``balance >= 0`` makes a second release or refund of a pledge impossible;
- ``project``: one per project (donations and released pledges);
- ``commission``: the platform (commission on released pledges, tips); no owner;
- ``fees`` and ``provider``: external (no cached balance): fees kept by the payment
  processor, and the payment provider that money comes in from.

``project`` and ``commission`` are *rolled up* (``ROLLUP_KINDS``): every deposit with a tip
or a donation and every settlement chunk credits them, so their credits go to
:class:`EuroPendingDelta` rows instead of their account row, and ``accounts_rollup`` folds
them into the cached balance off the hot path (see ``saka.ledger.posting``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from saka.core.money import MAX_BALANCE
from saka.engine.models import BatchChunk, BatchRun, RunStatus, RunTrigger
from saka.euro.conf import MAX_PLEDGE_CENTS
from saka.ledger.models import LedgerAccount, LedgerEntry, LedgerPendingDelta, LedgerPosting


class AccountKind(models.TextChoices):
    WALLET = "wallet", "Member wallet (main balance)"
    POCKET = "pocket", "Pocket"
    ESCROW = "escrow", "Escrow hold (one per pledge)"
    PROJECT = "project", "Project account"
    COMMISSION = "commission", "Platform (commission and tips)"
    FEES = "fees", "Processor fees (external)"
    PROVIDER = "provider", "Payment provider (external)"


MEMBER_KINDS = (AccountKind.WALLET, AccountKind.POCKET, AccountKind.ESCROW)
SYSTEM_KINDS = (AccountKind.COMMISSION, AccountKind.FEES, AccountKind.PROVIDER)
EXTERNAL_KINDS = frozenset({AccountKind.FEES.value, AccountKind.PROVIDER.value})
# shared accounts credited by members' deposits and by settlement chunks: rolled up
ROLLUP_KINDS = frozenset({AccountKind.PROJECT.value, AccountKind.COMMISSION.value})
BOOK = "eur"  # the EUR book's name (ledger registry, reconcile reports)


class EuroAccount(LedgerAccount):
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        db_table = "euro_account"
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="euro_account_balance_gte_0"),
            models.CheckConstraint(
                condition=Q(balance__lte=MAX_BALANCE), name="euro_account_balance_lte_max"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=MEMBER_KINDS) & Q(member__isnull=False) & Q(project__isnull=True)
                )
                | (Q(kind=AccountKind.PROJECT) & Q(project__isnull=False) & Q(member__isnull=True))
                | (Q(kind__in=SYSTEM_KINDS) & Q(member__isnull=True) & Q(project__isnull=True)),
                name="euro_account_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(kind=AccountKind.WALLET),
                name="euro_account_one_wallet_per_member",
            ),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(kind=AccountKind.PROJECT),
                name="euro_account_one_per_project",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind__in=SYSTEM_KINDS),
                name="euro_account_one_per_system_kind",
            ),
        ]

    def __str__(self) -> str:
        if self.member_id is not None:
            return f"EUR {self.kind} {self.pk} of member {self.member_id}"
        if self.project_id is not None:
            return f"EUR account of project {self.project_id}"
        return f"EUR {self.kind}"


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit (payment webhook)"
    TRANSFER = "transfer", "Transfer between a wallet and its pocket"
    PLEDGE = "pledge", "Pledge into escrow"
    CANCEL = "cancel", "Pledge cancelled by its member"
    REFUND = "refund", "Pledge refunded"
    RELEASE = "release", "Pledge released to the project"


class EuroEntry(LedgerEntry):
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.BigIntegerField(help_text="Gross amount moved, in cents (> 0).")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    campaign = models.ForeignKey(
        "euro.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    run = models.ForeignKey(
        "euro.SettlementRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    reference = models.CharField(
        max_length=255, blank=True, default="", help_text="payment id, pocket or pledge id"
    )
    # What the member reads (saka.euro.statements), written in the entry's own insert and
    # never recomputed: the figures as they were when it was booked (pockets' names and
    # percentages, fees, the frozen commission rate). Null and "" for entries booked before.
    calculation = models.JSONField(null=True, blank=True)
    explanation = models.TextField(blank=True, default="", db_default="")

    class Meta:
        db_table = "euro_entry"
        verbose_name_plural = "EUR entries"
        # the dashboard's daily series (deposits, fees): entries are appended in time order,
        # so a BRIN index of a few pages finds a day's range (cheap on insert)
        indexes = [BrinIndex(fields=["created_at"], name="euro_entry_created_brin")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="euro_entry_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class EuroPosting(LedgerPosting):
    entry = models.ForeignKey(
        EuroEntry,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="postings",
        db_index=False,
    )
    account = models.ForeignKey(
        EuroAccount,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="postings",
        db_index=False,
    )
    # Set on a pledge's escrow postings. The partial unique index below makes a second
    # debit of a pledge's escrow (a second release, refund or cancel) impossible.
    pledge_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "euro_posting"
        indexes = [models.Index(fields=["account", "id"], name="euro_posting_account_id")]
        constraints = [
            models.UniqueConstraint(
                fields=["pledge_id"],
                condition=Q(pledge_id__isnull=False) & Q(amount__lt=0),
                name="euro_posting_escrow_debited_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount:+d}"


class EuroPendingDelta(LedgerPendingDelta):
    """A credit to a project or commission account not yet folded into its cached balance
    (``ROLLUP_KINDS``). Inserted by ``entry_post`` with its posting, deleted by the rollup
    that adds it to the balance; reconcile proves cached + pending = Σ postings."""

    class Meta:
        db_table = "euro_pending_delta"
        indexes = [models.Index(fields=["account_id"], name="euro_pending_delta_account")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="euro_pending_delta_credit"),
        ]

    def __str__(self) -> str:
        return f"pending {self.amount:+d} on account {self.account_id}"


class Pocket(models.Model):
    """A named sub-account of a member's wallet; deposits fill it by ``percentage``."""

    id = models.BigAutoField(primary_key=True)
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    account = models.OneToOneField(EuroAccount, on_delete=models.PROTECT, related_name="pocket")
    name = models.CharField(max_length=60)
    # Hundredths of a percent (basis points of the deposit): 12.50 % is 1250. Exact in
    # Python and in SQL on every backend; the API shows it as a decimal with two places.
    percentage_bp = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "euro_pocket"
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage_bp__gte=0) & Q(percentage_bp__lte=10_000),
                name="euro_pocket_percentage_0_100",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(percentage_bp=0),
                name="euro_pocket_closed_has_no_percentage",
            ),
        ]

    def __str__(self) -> str:
        return f"pocket {self.name!r} of member {self.member_id}"

    @property
    def percentage(self) -> Decimal:
        return Decimal(self.percentage_bp) / 100


class CampaignStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Campaign(models.Model):
    """A project's fundraising: pledges go to escrow while it is open; its outcome decides
    whether they are released to the project or refunded. At most one open per project."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="+")
    goal_cents = models.BigIntegerField()
    deadline = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "euro_campaign"
        constraints = [
            models.CheckConstraint(condition=Q(goal_cents__gt=0), name="euro_campaign_goal_gt_0"),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status=CampaignStatus.OPEN),
                name="euro_campaign_one_open_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"campaign {self.pk} of project {self.project_id} ({self.status})"


class PledgeKind(models.TextChoices):
    DONATION = "donation", "Donation"
    EQUITY = "equity", "Equity"


class PledgeStatus(models.TextChoices):
    HELD = "held", "Held in escrow"
    RELEASED = "released", "Released to the project"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled by the member"


class Pledge(models.Model):
    """Money a member promised a campaign, held in its own escrow account until settled."""

    id = models.BigAutoField(primary_key=True)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="pledges", db_index=False
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=PledgeKind.choices, default=PledgeKind.DONATION)
    amount_cents = models.BigIntegerField()
    status = models.CharField(
        max_length=16, choices=PledgeStatus.choices, default=PledgeStatus.HELD
    )
    escrow = models.OneToOneField(EuroAccount, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(
        EuroAccount, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    settlement_run = models.ForeignKey(
        "euro.SettlementRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pledges",
    )
    commission_cents = models.BigIntegerField(default=0)
    net_cents = models.BigIntegerField(default=0, help_text="What the project received.")

    class Meta:
        db_table = "euro_pledge"
        indexes = [
            models.Index(fields=["member", "-id"], name="euro_pledge_member_id"),
            models.Index(fields=["campaign", "status"], name="euro_pledge_campaign_status"),
            # the settlement's key-range scan: held pledges of a campaign by id
            models.Index(
                fields=["campaign", "id"],
                condition=Q(status=PledgeStatus.HELD),
                name="euro_pledge_held_by_campaign",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0) & Q(amount_cents__lte=MAX_PLEDGE_CENTS),
                name="euro_pledge_amount_range",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=PledgeStatus.RELEASED)
                    & Q(commission_cents__gte=0)
                    & Q(net_cents__gte=0)
                    & Q(amount_cents=F("commission_cents") + F("net_cents"))
                )
                | (~Q(status=PledgeStatus.RELEASED) & Q(commission_cents=0) & Q(net_cents=0)),
                name="euro_pledge_release_split",
            ),
            models.CheckConstraint(
                condition=Q(status=PledgeStatus.HELD, settled_at__isnull=True)
                | (~Q(status=PledgeStatus.HELD) & Q(settled_at__isnull=False)),
                name="euro_pledge_settled_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"pledge {self.pk}: {self.amount_cents} by {self.member_id} ({self.status})"


class SettlementKind(models.TextChoices):
    RELEASE = "release", "Release to the project"
    REFUND = "refund", "Refund to the members"


# A settlement's lifecycle is the batch engine's (queued, running, interrupted, done; who or
# what started it): the names are kept for the EUR code that speaks of settlements.
SettlementStatus = RunStatus
Trigger = RunTrigger


class SettlementStep(models.IntegerChoices):
    SETTLE = 0, "settle"  # release or refund the held pledges of the chunk's id range


class SettlementRun(BatchRun):
    """The settlement of one closed campaign (one per campaign): its kind, frozen commission
    rate and totals; the lifecycle fields come from the batch engine (:class:`BatchRun`).

    Its chunks (:class:`SettlementChunk`) are ranges of pledge ids planned once when it opens.
    Every counter moves in the transaction that books its chunk, from the amounts that chunk
    booked, so the totals always equal what is in the ledger.
    """

    id = models.BigAutoField(primary_key=True)
    campaign = models.OneToOneField(Campaign, on_delete=models.PROTECT, related_name="settlement")
    kind = models.CharField(max_length=16, choices=SettlementKind.choices)
    commission_rate = models.CharField(max_length=32, help_text="Frozen when the run starts.")
    pledges_total = models.BigIntegerField(default=0, help_text="Held pledges at the start.")
    pledges_done = models.BigIntegerField(default=0, help_text="Pledges released or refunded.")
    pledges_skipped = models.BigIntegerField(
        default=0, help_text="Pledges settled by another operation before their chunk locked them."
    )
    amount_done = models.BigIntegerField(default=0, help_text="Cents taken out of escrow.")
    commission_done = models.BigIntegerField(default=0, help_text="Cents to the platform.")
    net_done = models.BigIntegerField(default=0, help_text="Cents to the project.")
    refunded_done = models.BigIntegerField(default=0, help_text="Cents back to members.")

    class Meta:
        db_table = "euro_settlement_run"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_done=F("commission_done") + F("net_done") + F("refunded_done")),
                name="euro_settlement_totals_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of campaign {self.campaign_id}: {self.status}"


class SettlementChunk(BatchChunk):
    """One range ``(lo, hi]`` of pledge ids of a settlement (:class:`BatchChunk`): planned when
    the settlement opens (at most ``chunk_size`` held pledges each), leased by one worker at a
    time, marked done with what it booked in the transaction that books it."""

    pk = models.CompositePrimaryKey("run_id", "step", "lo")
    step = models.SmallIntegerField(choices=SettlementStep.choices, default=SettlementStep.SETTLE)
    pledges = models.BigIntegerField(default=0, help_text="Pledges released or refunded.")
    skipped = models.BigIntegerField(
        default=0, help_text="Pledges settled by another operation before the chunk locked them."
    )
    amount = models.BigIntegerField(default=0)
    commission = models.BigIntegerField(default=0)
    net = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)

    class Meta:
        db_table = "euro_settlement_chunk"

    def __str__(self) -> str:
        return f"settlement {self.run_id} ({self.lo}, {self.hi}]"


class WebhookEventStatus(models.TextChoices):
    BOOKED = "booked", "Deposit booked"
    IGNORED = "ignored", "Ignored (event type not handled)"


class WebhookEvent(models.Model):
    """A payment-provider event that was verified and processed (one row per provider and
    event id; a payment is booked at most once per provider).

    Only events answered 200 are stored: a refused event (unknown member, bad amounts)
    books nothing and leaves no row, so the provider's retry is processed afresh.
    """

    id = models.BigAutoField(primary_key=True)
    # db_default too: rows written by SQL (or by code that predates providers) are Stripe's
    provider = models.CharField(max_length=32, default="stripe", db_default="stripe")
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    payload_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=WebhookEventStatus.choices)
    payment_id = models.CharField(max_length=255, blank=True, default="")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    amount_cents = models.BigIntegerField(null=True, blank=True)
    entry = models.OneToOneField(
        EuroEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="webhook_event"
    )
    result = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "euro_webhook_event"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="euro_webhook_provider_event_once"
            ),
            models.UniqueConstraint(
                fields=["provider", "payment_id"],
                condition=Q(status=WebhookEventStatus.BOOKED),
                name="euro_webhook_payment_booked_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} ({self.type}): {self.status}"


class MemberProfile(models.Model):
    """EUR-side facts about a member: KYC verification (needed for equity pledges)."""

    id = models.BigAutoField(primary_key=True)
    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="euro_profile"
    )
    kyc_verified = models.BooleanField(default=False)
    kyc_verified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "euro_member_profile"

    def __str__(self) -> str:
        return f"member {self.member_id}: KYC {'verified' if self.kyc_verified else 'not verified'}"
