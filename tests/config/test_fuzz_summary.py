"""The schema fuzzer's summary (scripts/fuzz_summary.py) on given schemathesis reports: a role
whose token stops working fails, instead of passing with nothing tested past authentication."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_summary.py"
JUNIT = (
    '<testsuites><testsuite><testcase name="GET /api/v1/me/saka/wallet/"/></testsuite></testsuites>'
)


def _summary() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_summary", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(refused: list[str]) -> str:
    lines = ["Tested: 58", "Warnings:"]
    if refused:
        lines += [
            "Authentication failed: 3 operations returned only 401/403 responses",
            "",
            "403 Forbidden (1 operation):",
            "  - POST /api/v1/staff/euro/campaigns/",
            f"401 Unauthorized ({len(refused)} operations):",
            *[f"  - {op}" for op in refused],
            "",
            "💡 Ensure valid authentication credentials are set via `--auth` or `-H`",
        ]
    return "\n".join([*lines, "Test cases:", "  120 generated, 120 passed", ""])


def _write(out: Path, role: str, log: str) -> None:
    (out / f"{role}.log").write_text(log)
    (out / f"{role}.xml").write_text(JUNIT)


def test_a_role_whose_token_is_refused_fails(tmp_path: Path) -> None:
    # given a member role whose every request to two operations was refused as unauthenticated
    summary = _summary()
    _write(tmp_path, "member", _log(["GET /api/v1/me/saka/wallet/", "GET /api/v1/polls/"]))
    # when the summary reads it
    line, passed = summary._role(tmp_path, "member")
    # then the role fails and says where its token was refused
    assert not passed
    assert "token refused (only 401) on 2 operations: GET /api/v1/me/saka/wallet/" in line
    # and the 403 of a staff operation (a member may not) is not counted
    assert "staff/euro/campaigns" not in line


def test_the_log_in_and_the_roles_without_a_working_token_may_be_refused(tmp_path: Path) -> None:
    summary = _summary()
    # given the log-in refused (wrong passwords) for a staff role, and everything refused for
    # the anonymous role and for the log-out's own role (its token deleted by its first call)
    _write(tmp_path, "auditor", _log(["POST /api/v1/auth/token/"]))
    _write(tmp_path, "anonymous", _log(["GET /api/v1/me/saka/wallet/"]))
    _write(tmp_path, "logout", _log(["POST /api/v1/auth/logout/"]))
    _write(tmp_path, "member", _log([]))
    # then each of them passes
    for role in ("auditor", "anonymous", "logout", "member"):
        line, passed = summary._role(tmp_path, role)
        assert passed, line
        assert "token refused" not in line


def test_the_refused_operations_are_read_from_the_warning() -> None:
    summary = _summary()
    text = _log(["GET /api/v1/projects/", "POST /api/v1/me/saka/plant/"])
    assert summary.refused_401(text) == ["GET /api/v1/projects/", "POST /api/v1/me/saka/plant/"]
    assert summary.refused_401(_log([])) == []
