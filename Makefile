# SAKA: set-up and everyday commands. `make demo` and `make test` work on a fresh machine
# that has only Python 3.11+ and the package registries.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo run test test-sqlite test-postgres lint format clean bench bench-quick fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The reference project on SQLite with demo data, served on http://$(HOST):$(PORT)/
## (the demo's webhook secret signs its deposits and those saka_webhook_send sends it)
demo: export SAKA_PAYMENT_WEBHOOK_SECRET ?= whsec_demo_not_a_secret
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py saka_demo
	$(BIN)/python manage.py saka_reconcile
	@echo ""
	@echo "  API docs (Swagger UI): http://$(HOST):$(PORT)/api/docs/"
	@echo "  OpenAPI schema:        http://$(HOST):$(PORT)/api/schema/"
	@echo "  Admin:                 http://$(HOST):$(PORT)/admin/"
	@echo "  Log-ins:               admin / admin (staff), platform / platform (harvest service),"
	@echo "                         member001 .. member300 / demo (members)"
	@echo "  A signed deposit:      SAKA_PAYMENT_WEBHOOK_SECRET=$$SAKA_PAYMENT_WEBHOOK_SECRET \\"
	@echo "                         $(BIN)/python manage.py saka_webhook_send --member member001 \\"
	@echo "                         --amount 50.00 --url http://$(HOST):$(PORT)/api/v1/webhooks/payments/"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

run: demo

## The whole test suite (SQLite by default; DATABASE_URL=postgres://... runs the PostgreSQL tests)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Benchmark on PostgreSQL (docs/benchmarks.md): the runs against the seeds' algorithm and the
## SQL floor, N = 10k, 100k, 1M, then driven by 1, 2, 4 worker processes at 1M
## (BENCH_ARGS="--sizes 10m", "--processes 1,2" etc.). It works in saka_bench_*
## databases of DATABASE_URL's server, never in the database that URL names.
BENCH_DATABASE_URL = $(if $(DATABASE_URL),$(DATABASE_URL),postgres://postgres@127.0.0.1:5432/saka_bench)

bench: $(STAMP)
	DATABASE_URL='$(BENCH_DATABASE_URL)' $(BIN)/python manage.py saka_bench $(BENCH_ARGS)

## CI smoke run (tiny sizes, 2 worker processes at 5k, well under 2 minutes): exit 1 if the
## project, the floor or the naive loop books anything but the expected wallets and amounts
bench-quick: $(STAMP)
	DATABASE_URL='$(BENCH_DATABASE_URL)' $(BIN)/python manage.py saka_bench --quick $(BENCH_ARGS)

## The OpenAPI schema fuzzed (schemathesis) against a running server on PostgreSQL, every
## operation once per role (docs/testing.md): exit 1 on any server error, schema break, or
## reconcile discrepancy. Its own database (FUZZ_DB, default saka_fuzz), dropped and created.
fuzz: $(STAMP)
	scripts/fuzz.sh

lint: $(STAMP)
	$(BIN)/ruff check src config tests bench
	$(BIN)/ruff format --check src config tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff format src config tests bench
	$(BIN)/ruff check --fix src config tests bench

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .mypy_cache .ruff_cache .hypothesis
