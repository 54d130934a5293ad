"""Postings and entries are append-only: model guards, database triggers, read-only admin."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.test import RequestFactory

from saka.grains import services
from saka.grains.models import SakaAccount, SakaEntry, SakaPosting
from saka.ledger.models import AppendOnlyError, IdempotencyRecord
from tests.support.clock import T0

pytestmark = pytest.mark.django_db

LEDGER_MODELS = [SakaEntry, SakaPosting]


@pytest.fixture
def booked(member):
    result = services.wallet_harvest(
        member_id=member.pk, reason="invest_bonus", as_of=T0, idempotency_key="k"
    )
    return SakaEntry.objects.get(pk=result.entry_id)


def snapshot():
    return (
        list(SakaEntry.objects.order_by("pk").values_list("pk", "amount", "reason", "created_at")),
        list(
            SakaPosting.objects.order_by("pk").values_list("pk", "entry_id", "account_id", "amount")
        ),
    )


@contextmanager
def refused_by_database():
    """The statement fails; a savepoint keeps the test's transaction usable afterwards."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        yield


# --- model guards ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", LEDGER_MODELS)
def test_saving_a_booked_row_is_refused(booked, model):
    # given a booked row, changed in memory
    row = SakaEntry.objects.get(pk=booked.pk) if model is SakaEntry else booked.postings.first()
    before = snapshot()
    row.amount = 1
    # when / then
    with pytest.raises(AppendOnlyError, match="append-only"):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.save(update_fields=["amount"])
    assert snapshot() == before


@pytest.mark.parametrize("model", LEDGER_MODELS)
def test_deleting_a_booked_row_is_refused(booked, model):
    row = SakaEntry.objects.get(pk=booked.pk) if model is SakaEntry else booked.postings.first()
    before = snapshot()
    with pytest.raises(AppendOnlyError):
        row.delete()
    assert snapshot() == before


# --- database triggers: UPDATE (SQLite and PostgreSQL) -----------------------------------------


def test_queryset_update_of_postings_is_refused_by_the_database(booked):
    before = snapshot()
    with refused_by_database():
        SakaPosting.objects.filter(entry=booked).update(amount=F("amount") * 2)
    assert snapshot() == before


def test_queryset_update_of_entries_is_refused_by_the_database(booked):
    before = snapshot()
    with refused_by_database():
        SakaEntry.objects.filter(pk=booked.pk).update(reason="poll_vote")
    assert snapshot() == before


def test_bulk_update_is_refused_by_the_database(booked):
    postings = list(booked.postings.all())
    for p in postings:
        p.amount = 0
    before = snapshot()
    with refused_by_database():
        SakaPosting.objects.bulk_update(postings, ["amount"])
    assert snapshot() == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE grains_posting SET amount = amount + 1 WHERE entry_id = %s",
        "UPDATE grains_entry SET amount = amount + 1 WHERE id = %s",
    ],
)
def test_raw_update_is_refused_by_the_database(booked, sql):
    before = snapshot()
    with refused_by_database(), connection.cursor() as cursor:
        cursor.execute(sql, [booked.pk])
    assert snapshot() == before


@pytest.mark.parametrize(
    "table",
    [
        "grains_entry",
        "grains_posting",
        "grains_policy_version",
        "grains_policy_whatif",
        "euro_entry",
        "euro_posting",
    ],
)
def test_every_ledger_table_keeps_its_guard_after_the_migrations(db, table):
    # a migration that makes SQLite rebuild a table (a column with a database default) drops
    # its triggers: the guard must have been installed again
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
            )
        names = [row[0] for row in cursor.fetchall()]
    assert f"{table}_append_only" in names


def test_inserting_stays_possible(booked):
    # the guard is on UPDATE/DELETE only: new rows are how the ledger grows
    count = SakaPosting.objects.count()
    with transaction.atomic():
        SakaPosting.objects.create(entry=booked, account=booked.postings.first().account, amount=0)
        assert SakaPosting.objects.count() == count + 1
        transaction.set_rollback(True)
    assert SakaPosting.objects.count() == count


# --- database triggers: DELETE (PostgreSQL) ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("model", LEDGER_MODELS)
def test_queryset_delete_is_refused_by_the_database(booked, model):
    before = snapshot()
    with refused_by_database():
        if model is SakaEntry:
            SakaEntry.objects.filter(pk=booked.pk).delete()
        else:
            SakaPosting.objects.filter(entry=booked).delete()
    assert snapshot() == before


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    ["DELETE FROM grains_posting WHERE entry_id = %s", "DELETE FROM grains_entry WHERE id = %s"],
)
def test_raw_delete_is_refused_by_the_database(booked, sql):
    before = snapshot()
    with refused_by_database(), connection.cursor() as cursor:
        cursor.execute(sql, [booked.pk])
    assert snapshot() == before


# --- admin -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [SakaEntry, SakaPosting, SakaAccount, IdempotencyRecord])
def test_ledger_rows_are_read_only_in_the_admin(booked, staff_user, model):
    # given a superuser (every permission) in the admin
    staff_user.is_superuser = True
    staff_user.save()
    request = RequestFactory().get("/admin/")
    request.user = staff_user
    model_admin = admin.site._registry[model]
    row = model.objects.first()
    # then nothing can be added, changed or deleted
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
