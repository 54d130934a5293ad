"""Every rate reaches SQL as an exact type (issue 16, defect 3, closed as a class): in every
statement of the project, a parameter that is a rate or a percentage is cast ``::numeric``
where it is used (``saka.core.money.sql_rate`` makes it a fixed-point string). Without the
cast, a rate of integral value is an integer literal and ``floor(bigint * integer)`` is taken
in double precision, which rounds balances above 2**53."""

from __future__ import annotations

import re
from pathlib import Path

import saka

SRC = Path(saka.__file__).parent
PARAMETER = re.compile(r"%\((?P<name>\w+)\)s(?P<cast>::\w+)?")
RATE_LIKE = re.compile(r"rate|ratio|percent|pct|_bp\b|^bp$|fraction", re.IGNORECASE)


def test_every_rate_parameter_in_sql_is_cast_to_numeric():
    # given every Python module of the project (SQL lives in sql/ modules and a few services)
    found, uncast = [], []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        for match in PARAMETER.finditer(text):
            if not RATE_LIKE.search(match.group("name")):
                continue
            where = f"{path.relative_to(SRC)}:{text.count(chr(10), 0, match.start()) + 1}"
            found.append(where)
            if match.group("cast") != "::numeric":
                uncast.append(f"{where} {match.group(0)}")
    # then the compost's rate is among them, and none reaches SQL without its numeric cast
    assert any(w.startswith("grains/sql/compost.py") for w in found)
    assert uncast == []
