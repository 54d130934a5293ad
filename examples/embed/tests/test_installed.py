"""The package is the installed wheel, its migrations run against the host's user model, and the
books reconcile on an empty ledger."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

import saka
from tests.conftest import SITE_PACKAGES

pytestmark = pytest.mark.django_db


def test_saka_is_the_installed_package_with_its_data_files() -> None:
    # given the imported package
    root = Path(saka.__file__).resolve().parent
    # then it lives in site-packages, and the templates (package data) came with the wheel
    assert root.parent == SITE_PACKAGES
    assert (root / "api" / "templates" / "saka_api" / "redoc.html").is_file()
    assert (root / "jobs" / "templates" / "admin" / "saka_jobs" / "run").is_dir()


def test_every_migration_is_applied_and_none_is_missing() -> None:
    # given the test database, migrated by pytest-django
    executor = MigrationExecutor(connection)
    # then nothing is left to apply, and the models need no new migration (custom user too)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_wallet_tables_point_at_the_host_user_table() -> None:
    # given a wallet's member foreign key
    from saka.grains.models import SakaAccount

    target = SakaAccount._meta.get_field("member").related_model
    # then it is the host's custom user model
    assert target is not None
    assert target._meta.label == "accounts.User"


def test_reconcile_is_clean_on_a_fresh_database() -> None:
    out = StringIO()
    call_command("saka_reconcile", stdout=out)
    assert "saka_reconcile: OK" in out.getvalue()


def test_the_system_checks_pass_with_the_host_user_model() -> None:
    # the admin's checks (list_display, raw_id_fields...) and every app's own
    call_command("check", fail_level="WARNING")


def test_the_host_rates_apply_and_the_others_keep_their_defaults() -> None:
    from saka.api.common.throttling import MemberThrottle, PlatformThrottle

    # embedsite.settings sets the member rate only
    assert MemberThrottle().rate == "60/min"
    assert PlatformThrottle().rate == "6000/min"
