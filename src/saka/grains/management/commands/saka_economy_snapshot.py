"""Take the staff dashboard's snapshot of the SAKA economy now (what the beat task
``saka-economy-snapshot`` does every 15 minutes; for cron without Celery, or the demo)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from saka.grains.economy import economy_snapshot_refresh


class Command(BaseCommand):
    help = "Take the dashboard's SAKA economy snapshot (histogram, supply, next compost)."

    def handle(self, *args: Any, **options: Any) -> None:
        snap = economy_snapshot_refresh()
        self.stdout.write(
            f"saka_economy_snapshot: {snap.wallets} wallets, {snap.supply} grains; the next "
            f"compost would take {snap.next_compost_grains} grains from "
            f"{snap.next_compost_wallets} wallets ({snap.duration_ms} ms)"
        )
