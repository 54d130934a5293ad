"""Ledger building blocks: abstract accounts, entries and postings, plus idempotency records.

Each currency (a *book*) has its own concrete tables, so SAKA and EUR can never share a
balance. Postings are append-only (model guards here, database triggers in the migrations).
Postings reference their entry and account without a database foreign key: an FK check
costs ~4 us per inserted row on the batch path; ``reconcile`` proves there are no orphans.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils import timezone


class AppendOnlyError(RuntimeError):
    pass


class LedgerAccount(models.Model):
    """An account with a cached balance (integer minor units), changed only by atomic SQL."""

    id = models.BigAutoField(primary_key=True)
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


class LedgerEntry(AppendOnlyModel):
    """One movement of value; its postings sum to zero."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class LedgerPosting(AppendOnlyModel):
    """One line of an entry: a signed amount on one account (credit > 0, debit < 0)."""

    id = models.BigAutoField(primary_key=True)
    amount = models.BigIntegerField()

    class Meta:
        abstract = True


class LedgerPendingDelta(models.Model):
    """A credit posted to a *rolled-up* account (``Book.rollup_kinds``) and not yet folded into
    its cached balance: the posting path appends one of these instead of updating the account
    row (never a hot row), and ``accounts_rollup`` folds them with ``DELETE ... RETURNING``
    (each exactly once). The account's balance is its cached balance plus its pending rows."""

    id = models.BigAutoField(primary_key=True)
    account_id = models.BigIntegerField()
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are only inserted and folded.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} rows are folded by the rollup only.")


class IdempotencyRecord(models.Model):
    """A client-retryable write, remembered per (scope, key) with the result it returned."""

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    result = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="ledger_idempotency_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class ReconcileResult(models.Model):
    """One reconciliation of the books as it ended (``saka_reconcile``, the nightly books
    check): the staff dashboard shows the last one. Small and append-only in practice: one
    row a night plus the commands operators run."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    checks = models.IntegerField(default=0, help_text="Checks run, every book's.")
    discrepancies = models.JSONField(default=list, blank=True, help_text="The first ones found.")
    discrepancy_count = models.IntegerField(default=0)
    duration_ms = models.IntegerField(default=0)
    source = models.CharField(max_length=16, help_text="command or beat")

    class Meta:
        db_table = "ledger_reconcile_result"
        ordering = ["-id"]

    def __str__(self) -> str:
        verdict = "ok" if self.ok else f"{self.discrepancy_count} discrepancies"
        return f"reconcile {self.at:%Y-%m-%d %H:%M}: {verdict}"
