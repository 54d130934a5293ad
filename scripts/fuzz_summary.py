"""The fuzzer's summary (scripts/fuzz.sh): one line per role from its schemathesis log and
JUnit report: operations tested, test cases generated, failing operations, unique failures
by code, errors, and the operations on which the role's token was refused. Exit status 1 if a
role failed, had an error or has no log, or if a role with a token got nothing but 401 from
an operation other than the log-in (its token stopped working: the run tested nothing past
authentication there; the log-out's own role, whose token the log-out deletes, excepted).

Usage: python scripts/fuzz_summary.py OUT_DIR ROLE [ROLE ...]
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET  # noqa: S405 - our own report files
from collections import Counter
from pathlib import Path

# Roles whose every request may be refused as unauthenticated: no token, or a token that the
# operation under test deletes. The log-in answers 401 to any wrong password it is sent.
UNAUTHENTICATED_ROLES = frozenset({"anonymous", "logout"})
LOGIN = "POST /api/v1/auth/token/"


def refused_401(text: str) -> list[str]:
    """The operations schemathesis reports as answering only 401 (its "Authentication failed"
    warning, where 403s are listed apart): ``["GET /api/v1/...", ...]``."""
    found: list[str] = []
    block = re.search(r"^401 Unauthorized \(\d+ operations?\):\n((?:\s+- .+\n)+)", text, re.M)
    if block:
        found = [line.strip()[2:] for line in block.group(1).splitlines() if line.strip()]
    return found


def _role(out: Path, role: str) -> tuple[str, bool]:
    log, junit = out / f"{role}.log", out / f"{role}.xml"
    if not log.exists() or not junit.exists():
        return f"{role:<18} no report (schemathesis did not finish)", False
    text = log.read_text(errors="replace")
    tested = re.search(r"Tested:\s+(\d+)", text)
    cases = re.search(r"(\d+) generated", text)
    root = ET.parse(junit).getroot()  # noqa: S314 - our own report file
    codes: Counter[str] = Counter()
    failing_ops = errors = 0
    for case in root.iter("testcase"):
        failures = case.findall("failure")
        errors += len(case.findall("error"))
        failing_ops += bool(failures)
        for failure in failures:  # "ST105" or "ST105, ST201" (one case, several checks)
            codes.update(c.strip() for c in failure.get("message", "?").split(","))
    failures = sum(len(case.findall("failure")) for case in root.iter("testcase"))
    detail = ", ".join(f"{code} x{n}" for code, n in sorted(codes.items()))
    line = (
        f"{role:<18} operations {tested.group(1) if tested else '?':>3}  "
        f"cases {cases.group(1) if cases else '?':>6}  failures {failures:>3} "
        f"(in {failing_ops} operations)  errors {errors}" + (f"  [{detail}]" if detail else "")
    )
    refused = (
        [] if role in UNAUTHENTICATED_ROLES else [op for op in refused_401(text) if op != LOGIN]
    )
    if refused:
        line += (
            f"\n{'':<18} token refused (only 401) on {len(refused)} operations: "
            + ", ".join(refused[:5])
            + (" ..." if len(refused) > 5 else "")
        )
    return line, failures == 0 and errors == 0 and not refused


def main() -> int:
    out, roles = Path(sys.argv[1]), sys.argv[2:]
    ok = True
    print("\n===== schema fuzzer: summary per role =====")
    for role in roles:
        line, passed = _role(out, role)
        ok &= passed
        print(line)
    print("total: " + ("0 failures, 0 errors" if ok else "FAILURES (see the logs above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
