"""An API client in its own process, for the PgBouncer test (not a test module): Django's test
client (DRF's ``APIClient``) on the database ``DATABASE_URL`` names, through PgBouncer with
``SAKA_DB_POOLER=pgbouncer``.

``python -m tests.jobs.multiprocess.api_client '{"platform": id, "staff": id, "members": [..],
"name": "a"}'``: connects, prints ``ready``, waits for a line on stdin (so that several clients
start together), then per member a platform harvest with an idempotency key, its replay and
the member's wallet, then the staff's run list, silo and statistics; prints one JSON line: the
requests' statuses and bodies' key figures, and the server backend pids its queries ran on.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(config: dict[str, Any]) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.urls import reverse
    from rest_framework.test import APIClient

    def backend() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            row = cursor.fetchone()
        return int(row[0])

    def as_user(user_id: int) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=get_user_model().objects.get(pk=user_id))
        return client

    pids = {backend()}
    print("ready", flush=True)
    sys.stdin.readline()
    platform, staff = as_user(config["platform"]), as_user(config["staff"])
    calls: list[list[Any]] = []
    for member_id in config["members"]:
        body = {"member_id": member_id, "reason": "content_read"}
        key = f"{config['name']}-{member_id}"
        for _ in range(2):  # the second is a replay: same answer, booked once
            r = platform.post(
                reverse("saka_api:platform-harvest"), body, format="json", HTTP_IDEMPOTENCY_KEY=key
            )
            calls.append(["harvest", r.status_code, r.json().get("amount")])
            pids.add(backend())
        r = as_user(member_id).get(reverse("saka_api:saka-wallet"))
        calls.append(["wallet", r.status_code, r.json().get("balance")])
        pids.add(backend())
    for name in ("staff-run-list", "staff-silo", "staff-stats"):
        r = staff.get(reverse(f"saka_api:{name}"))
        calls.append([name, r.status_code, None])
        pids.add(backend())
    return {"calls": calls, "pids": sorted(pids)}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
