"""The SAKA book: accounts (member wallets and system accounts), entries, postings.

A member's wallet row carries its cached balance and the counters the rules need
(last activity, last compost, lifetime figures). Runs rewrite balance and compost columns,
so none of those is indexed (updates stay HOT; the table uses fillfactor 50 on PostgreSQL).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from saka.core.db import IdArrayField
from saka.core.money import MAX_BALANCE
from saka.engine.models import UNFINISHED, BatchChunk, BatchRun
from saka.engine.models import RunStatus as RunStatus  # the runs' statuses and triggers
from saka.engine.models import RunTrigger as RunTrigger
from saka.ledger.models import LedgerAccount, LedgerEntry, LedgerPosting


class AccountKind(models.TextChoices):
    WALLET = "wallet", "Member wallet"
    SILO = "silo", "Silo"
    ISSUANCE = "issuance", "Issuance (external)"
    PLANTED = "planted", "Planted (external)"
    POOL = "pool", "Redistribution pool (in transit during a run)"


EXTERNAL_KINDS = frozenset({AccountKind.ISSUANCE.value, AccountKind.PLANTED.value})
SYSTEM_KINDS = (AccountKind.SILO, AccountKind.ISSUANCE, AccountKind.PLANTED, AccountKind.POOL)


class SakaAccount(LedgerAccount):
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_composted_at = models.DateTimeField(null=True, blank=True)
    lifetime_harvested = models.BigIntegerField(default=0)
    lifetime_planted = models.BigIntegerField(default=0)
    lifetime_composted = models.BigIntegerField(default=0)
    lifetime_redistributed = models.BigIntegerField(default=0)
    last_compost_amount = models.BigIntegerField(
        default=0, help_text="Grains taken by the last compost (set by the run in one statement)."
    )

    class Meta:
        db_table = "grains_account"
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="grains_account_balance_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(balance__lte=MAX_BALANCE), name="grains_account_balance_lte_max"
            ),
            models.CheckConstraint(
                condition=Q(lifetime_harvested__gte=0)
                & Q(lifetime_planted__gte=0)
                & Q(lifetime_composted__gte=0)
                & Q(lifetime_redistributed__gte=0),
                name="grains_account_counters_gte_0",
            ),
            models.CheckConstraint(
                condition=(Q(kind=AccountKind.WALLET) & Q(member__isnull=False))
                | (~Q(kind=AccountKind.WALLET) & Q(member__isnull=True)),
                name="grains_account_wallet_has_member",
            ),
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(kind=AccountKind.WALLET),
                name="grains_account_one_wallet_per_member",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=~Q(kind=AccountKind.WALLET),
                name="grains_account_one_per_system_kind",
            ),
        ]
        permissions = [
            ("harvest_on_behalf", "Can grant SAKA harvests on behalf of members (platform)"),
        ]

    def __str__(self) -> str:
        if self.kind == AccountKind.WALLET:
            return f"SAKA wallet of member {self.member_id}"
        return f"SAKA {self.kind}"


class EntryKind(models.TextChoices):
    HARVEST = "harvest", "Harvest"
    PLANT = "plant", "Plant"
    COMPOST = "compost", "Compost"
    REDISTRIBUTION = "redistribution", "Redistribution"


class SakaEntry(LedgerEntry):
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    reason = models.CharField(max_length=32, blank=True, default="")
    amount = models.BigIntegerField(help_text="Gross amount moved, in grains (> 0).")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    memo = models.CharField(max_length=200, blank=True, default="")
    run = models.ForeignKey(
        "grains.Run", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    # the member's statement (saka.grains.statements, docs/statements.md): written when the
    # entry is booked, never recomputed; a run's chunk entry holds the run's figures and its
    # postings the per-wallet ones
    explanation = models.TextField(blank=True, default="", db_default="")
    calculation = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "grains_entry"
        verbose_name_plural = "SAKA entries"
        indexes = [
            # daily limits and rolling caps: a member's harvests of one reason by time
            models.Index(
                fields=["member", "kind", "reason", "created_at"], name="grains_entry_member_kind"
            ),
            # the dashboard's daily series: entries are appended in time order, so a BRIN
            # index of a few pages finds a day's range (cheap on insert, unlike a B-tree)
            BrinIndex(fields=["created_at"], name="grains_entry_created_brin"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="grains_entry_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reason} {self.amount}"


class SakaPosting(LedgerPosting):
    entry = models.ForeignKey(
        SakaEntry,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="postings",
        db_index=False,
    )
    account = models.ForeignKey(
        SakaAccount,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="postings",
        db_index=False,
    )

    # Set on the wallet postings of a run: a wallet can never be composted or credited twice
    # by one run (partial unique index below). No foreign key: see the module docstring.
    run_id = models.BigIntegerField(null=True, blank=True)
    # A compost posting's figures for the member's statement, written by the chunk statement:
    # the balance its amount was taken from, and whole days since the wallet's last activity
    # at the run's instant (NULL: never active). NULL on every other posting; not indexed.
    basis = models.BigIntegerField(null=True, blank=True)
    idle_days = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "grains_posting"
        # Each posting row pays for every index it enters, and a run writes one per wallet.
        # A run's wallet postings enter only the (run, wallet) key, which also finds them for
        # a wallet's history (one probe per run, see selectors.wallet_history); every other
        # posting enters the (account, id) index.
        indexes = [
            models.Index(
                fields=["account", "id"],
                condition=Q(run_id__isnull=True),
                name="grains_posting_account_direct",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run_id", "account"],
                condition=Q(run_id__isnull=False),
                name="grains_posting_once_per_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount:+d}"


class ProjectSupporter(models.Model):
    """A member who planted on a project at least once (distinct supporters)."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_planted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "grains_project_supporter"
        constraints = [
            models.UniqueConstraint(fields=["project", "member"], name="grains_supporter_unique"),
        ]

    def __str__(self) -> str:
        return f"member {self.member_id} supports project {self.project_id}"


class RunKind(models.TextChoices):
    COMPOST = "compost", "Compost"
    REDISTRIBUTION = "redistribution", "Redistribution"


class Season(models.Model):
    """A named cycle of the economy (``saka.grains.seasons``): a date range ``[starts_at,
    ends_at)``; seasons never overlap (checked by the service under the table's lock, and on
    PostgreSQL by an exclusion constraint), at most one is active (a partial unique index).
    A run belongs to the season whose range contains its ``as_of``."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        db_table = "grains_season"
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="grains_season_range")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="grains_season_ends_after"
            ),
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="grains_season_one_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Run(BatchRun):
    """A compost or redistribution run: its parameters, progress (chunks done) and outcome.

    At most one live run per kind and period (ISO week for compost, month for
    redistribution), and at most one unfinished live run per kind (a new period waits for the
    earlier one: it is resumed, never skipped); dry runs are recorded too and write nothing
    else. The lifecycle fields come from the batch engine (:class:`BatchRun`).
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=16, choices=RunKind.choices)
    period = models.CharField(max_length=16)
    dry_run = models.BooleanField(default=False)
    cursor = models.BigIntegerField(
        default=0,
        help_text="Highest account id done. Chunks run in parallel, so a range below it may "
        "still be pending: grains_run_chunk lists the chunks done.",
    )
    max_id = models.BigIntegerField(default=0, help_text="Highest account id in scope.")
    wallets_done = models.BigIntegerField(default=0, help_text="Wallets composted or credited.")
    amount_done = models.BigIntegerField(default=0, help_text="Grains composted or credited.")
    eligible_wallets = models.BigIntegerField(null=True, blank=True)
    per_wallet = models.BigIntegerField(null=True, blank=True)
    pot = models.BigIntegerField(null=True, blank=True)
    silo_before = models.BigIntegerField(null=True, blank=True)
    silo_after = models.BigIntegerField(null=True, blank=True)
    # the season whose [starts_at, ends_at) contains the run's as_of, set when it is opened
    season = models.ForeignKey(
        Season, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    policy_version = models.ForeignKey(
        "grains.PolicyVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The parameters' version the run applied (empty: the settings' defaults).",
    )

    class Meta:
        db_table = "grains_run"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period"],
                condition=Q(dry_run=False),
                name="grains_run_one_live_per_period",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(dry_run=False) & Q(status__in=UNFINISHED),
                name="grains_run_one_unfinished_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["kind", "-id"], name="grains_run_kind_id")]

    def __str__(self) -> str:
        dry = " (dry)" if self.dry_run else ""
        return f"{self.kind} {self.period}{dry}: {self.status}"

    @property
    def chunks_total(self) -> int:
        """Key-range chunks of the run's scope, ``(0, max_id]`` (the apply step's)."""
        return -(-self.max_id // self.chunk_size) if self.chunk_size > 0 else 0


class RunChunkStep(models.IntegerChoices):
    APPLY = 0, "apply"  # compost or credit the chunk's wallets
    FREEZE = 1, "freeze"  # redistribution: write the chunk's eligible wallets as targets
    HASH = 2, "hash"  # the statement: hash the chunk's postings into its subtree root


class RunChunk(BatchChunk):
    """One key range of one step of a run (:class:`BatchChunk`): planned when the step
    begins, leased by one worker at a time, marked done in the transaction that does it, so a
    chunk's work commits once whichever worker takes it, and a resumed run (or another
    worker) skips it. Chunks are done in any order, by any number of workers."""

    pk = models.CompositePrimaryKey("run_id", "step", "lo")
    step = models.SmallIntegerField(choices=RunChunkStep.choices)
    wallets = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)

    class Meta:
        db_table = "grains_run_chunk"

    def __str__(self) -> str:
        return f"run {self.run_id} {self.get_step_display()} ({self.lo}, {self.hi}]"


class RunFrozen(models.Model):
    """The wallets a redistribution counted, one row per credit chunk key range ``(lo, hi]``
    that has any: their ids, sorted. Frozen in the freeze chunk that covers the range, counted
    in the transaction that moves the pot, and exactly the wallets the range's credit chunk
    credits, whatever members do during the run; kept as the run's audit trail, never
    changed. One array per chunk rather than one row per wallet: the freeze writes and logs
    a few kilobytes per chunk instead of a row and an index entry per wallet. On PostgreSQL
    the arrays are stored uncompressed (``STORAGE EXTERNAL``, migration 0014): compressing
    each cost more than the space it saved."""

    pk = models.CompositePrimaryKey("run_id", "lo")
    run_id = models.BigIntegerField()
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    ids = IdArrayField()

    class Meta:
        db_table = "grains_run_frozen"

    def __str__(self) -> str:
        return f"run {self.run_id} ({self.lo}, {self.hi}]: {len(self.ids)} wallets"


class EconomySnapshot(models.Model):
    """The staff dashboard's figures that need a pass over every wallet or over weeks of
    entries (``saka.grains.economy``): taken by a beat task and after each run, read as one
    row ("as of HH:MM"). One row per refresh, kept a year (the monthly share of supply
    composted reads the first one of each month)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    wallets = models.BigIntegerField(default=0, help_text="Member wallets.")
    supply = models.BigIntegerField(default=0, help_text="Grains in member wallets.")
    next_compost_wallets = models.BigIntegerField(default=0)
    next_compost_grains = models.BigIntegerField(default=0)
    histogram = models.JSONField(default=list, blank=True, help_text="Wallets per balance band.")
    daily = models.JSONField(
        default=list, blank=True, help_text="Closed days' harvests and plants by reason."
    )
    duration_ms = models.IntegerField(default=0)

    class Meta:
        db_table = "grains_economy_snapshot"
        indexes = [models.Index(fields=["at"], name="grains_economy_snapshot_at")]

    def __str__(self) -> str:
        return f"SAKA economy as of {self.at:%Y-%m-%d %H:%M}"


class PolicyWhatIf(models.Model):
    """Candidate parameters applied to every wallet without writing (``saka.grains.whatif``):
    what the next compost and redistribution would do under them and under the rules in
    force (``baseline``). A parameter change carries one. Append-only."""

    id = models.BigAutoField(primary_key=True)
    as_of = models.DateTimeField()
    parameters = models.JSONField(help_text="The candidate parameters (all seven).")
    baseline_version = models.ForeignKey(
        "grains.PolicyVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version in force it was compared with (empty: the settings' defaults).",
    )
    baseline = models.JSONField(help_text="The parameters in force it was compared with.")
    result = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.IntegerField(default=0)

    class Meta:
        db_table = "grains_policy_whatif"
        ordering = ["-id"]
        verbose_name = "what-if"

    def __str__(self) -> str:
        return f"what-if {self.pk} at {self.as_of:%Y-%m-%d %H:%M}"


class PolicyVersion(models.Model):
    """The compost and redistribution parameters from ``effective_at`` on, who set them, why,
    and the what-if they were decided with. A run applies the latest version effective at its
    ``as_of`` (the settings' defaults before the first). Append-only: a change is a new row."""

    id = models.BigAutoField(primary_key=True)
    effective_at = models.DateTimeField()
    parameters = models.JSONField(help_text="All seven parameters (rates as decimal strings).")
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    whatif = models.ForeignKey(PolicyWhatIf, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "grains_policy_version"
        ordering = ["-effective_at", "-id"]
        indexes = [
            models.Index(fields=["-effective_at", "-id"], name="grains_policy_effective"),
        ]

    def __str__(self) -> str:
        return f"parameters v{self.pk} from {self.effective_at:%Y-%m-%d %H:%M}"


class RunStatementChunk(models.Model):
    """One chunk leaf of a run's statement tree: the subtree root over the run's wallet
    postings in ``(lo, hi]``, their count and grains, written by the run's hash step (in the
    transaction that marks its chunk done; chunks without postings have none). The statement
    folds these into its root; reconcile recomputes them from the postings."""

    pk = models.CompositePrimaryKey("run_id", "lo")
    run_id = models.BigIntegerField()
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    count = models.BigIntegerField()
    total = models.BigIntegerField()
    root = models.CharField(max_length=64)

    class Meta:
        db_table = "grains_run_statement_chunk"

    def __str__(self) -> str:
        return f"run {self.run_id} ({self.lo}, {self.hi}]: {self.count} leaves"


class RunStatement(models.Model):
    """The published statement of a finished live run (``saka.grains.run_statements``): its
    figures and the Merkle root over the wallets it moved, hash-chained to the previous
    statement (one chain over both kinds, ``seq`` 1..n without gaps). Append-only."""

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(unique=True)
    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="statement")
    kind = models.CharField(max_length=16, choices=RunKind.choices)
    body = models.JSONField(help_text="The figures, hashed in canonical JSON (sorted keys).")
    merkle_root = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    chunks = models.JSONField(
        default=list, blank=True, help_text="[lo, hi, count, total, root] of each chunk leaf."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "grains_run_statement"
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"statement {self.seq}: {self.kind} run {self.run_id}"
