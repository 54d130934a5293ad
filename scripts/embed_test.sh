#!/usr/bin/env bash
# The apps as a library (docs/embedding.md): build the saka-wallets wheel, install it with pytest
# into a fresh virtualenv (EMBED_VENV, default /tmp/saka-embed-venv), and run the example host
# project's suite (examples/embed/) there. The repository's src/ is never on sys.path: the
# example's conftest refuses to run unless saka comes from the virtualenv's site-packages.
#
# DATABASE_URL: the example's database (default: SQLite). On PostgreSQL the tests run in
# test_<name>, created and dropped by pytest-django. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
PYTHON="${PYTHON:-python3}"
venv="${EMBED_VENV:-/tmp/saka-embed-venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
wheels="$work/wheels"

# the wheel is built from a copy of what it is made of: no build/ or egg-info left in the
# repository, no stale file of an earlier build in the wheel
mkdir "$work/source"
tar -C "$repo" --exclude=__pycache__ --exclude='*.egg-info' -cf - pyproject.toml README.md src \
  | tar -C "$work/source" -xf -
"$PYTHON" -m venv --clear "$venv"
"$venv/bin/pip" wheel --quiet --no-deps --wheel-dir "$wheels" "$work/source"
wheel="$(ls "$wheels"/saka_wallets-*.whl)"
# --no-compile: Python compiles what the suite imports, not every module of every dependency
"$venv/bin/pip" install --quiet --no-compile "$wheel" 'pytest>=8,<10' 'pytest-django>=4.9,<5'
echo "installed $(basename "$wheel") into $venv (${SECONDS} s)"

cd "$repo/examples/embed"
# -P: the current directory is not put first on sys.path by python itself; pytest.ini's
# pythonpath adds examples/embed (the host project), never the repository's src/.
PYTHONPATH= "$venv/bin/python" -P -m pytest -q -p no:cacheprovider "$@"
