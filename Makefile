# SAKA: set-up and everyday commands. `make demo` and `make test` work on a fresh machine
# that has only Python 3.11+, npm and the package registries.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the front end's static files from the npm registry (chart.js for the staff dashboard): no
# build step, the files are served as they are published; re-installed when the lock changes
NPM ?= npm
NODE_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo serve run test test-sqlite test-postgres lint format clean bench bench-10m bench-page bench-quick bench-dashboard bench-policy fuzz embed-test screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): package-lock.json
	$(NPM) ci --no-audit --no-fund --ignore-scripts
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

## The reference project on SQLite with demo data, served on http://$(HOST):$(PORT)/
## (the demo's webhook secret signs its deposits and those saka_webhook_send sends it)
demo: export SAKA_PAYMENT_WEBHOOK_SECRET ?= whsec_demo_not_a_secret
demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py saka_demo
	$(BIN)/python manage.py saka_reconcile
	$(BIN)/python manage.py saka_economy_snapshot
	@echo ""
	@echo "  API docs (Swagger UI): http://$(HOST):$(PORT)/api/docs/"
	@echo "  OpenAPI schema:        http://$(HOST):$(PORT)/api/schema/"
	@echo "  Admin:                 http://$(HOST):$(PORT)/admin/"
	@echo "  Member pages:          http://$(HOST):$(PORT)/me/ (log in as a member)"
	@echo "  Staff dashboard:       http://$(HOST):$(PORT)/dashboard/ (staff: admin / admin)"
	@echo "  Log-ins:               admin / admin (staff), platform / platform (harvest service),"
	@echo "                         member001 .. member300 / demo (members)"
	@echo "  A signed deposit:      SAKA_PAYMENT_WEBHOOK_SECRET=$$SAKA_PAYMENT_WEBHOOK_SECRET \\"
	@echo "                         $(BIN)/python manage.py saka_webhook_send --member member001 \\"
	@echo "                         --amount 50.00 --url http://$(HOST):$(PORT)/api/v1/webhooks/payments/"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## The reference project as deployed (docs/operations-workers.md): production settings, DEBUG
## off, static files collected (hashed, compressed) and served by WhiteNoise, gunicorn
## (config/gunicorn.py, 2 x cores + 1 workers) on http://$(HOST):$(PORT)/. For a trial on this
## machine: plain HTTP (SAKA_SECURE_SSL_REDIRECT=0), the demo's SQLite file unless DATABASE_URL,
## Redis on 127.0.0.1:6379/0 unless REDIS_URL, a random secret key per start unless
## DJANGO_SECRET_KEY (sessions then end with the server).
SERVE_DATABASE_URL = $(if $(DATABASE_URL),$(DATABASE_URL),sqlite:///$(CURDIR)/db.sqlite3)
SERVE_REDIS_URL = $(if $(REDIS_URL),$(REDIS_URL),redis://127.0.0.1:6379/0)

# on the demo's SQLite file, the demo's webhook secret (as make demo): saka_webhook_send works
ifeq ($(DATABASE_URL),)
serve: export SAKA_PAYMENT_WEBHOOK_SECRET ?= whsec_demo_not_a_secret
endif
serve: $(STAMP) $(NODE_STAMP)
	@set -e; \
	export DJANGO_SETTINGS_MODULE=config.settings.production \
	  DATABASE_URL='$(SERVE_DATABASE_URL)' REDIS_URL='$(SERVE_REDIS_URL)' \
	  DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-$(HOST),localhost,127.0.0.1}" \
	  SAKA_SECURE_SSL_REDIRECT="$${SAKA_SECURE_SSL_REDIRECT:-0}" \
	  GUNICORN_BIND="$${GUNICORN_BIND:-$(HOST):$(PORT)}"; \
	if [ -z "$${DJANGO_SECRET_KEY:-}" ]; then \
	  echo "serve: no DJANGO_SECRET_KEY, using a random one for this start"; \
	  DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
	  export DJANGO_SECRET_KEY; \
	fi; \
	$(BIN)/python manage.py migrate --noinput -v0; \
	$(BIN)/python manage.py collectstatic --noinput -v0; \
	echo ""; \
	echo "  API docs (Swagger UI): http://$(HOST):$(PORT)/api/docs/"; \
	echo "  Admin:                 http://$(HOST):$(PORT)/admin/"; \
	echo "  Member pages:          http://$(HOST):$(PORT)/me/"; \
	echo ""; \
	exec $(BIN)/gunicorn -c config/gunicorn.py

run: demo

## The whole test suite (SQLite by default; DATABASE_URL=postgres://... runs the PostgreSQL tests)
test: $(STAMP) $(NODE_STAMP)
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
## The runs at 10M wallets beside the floor (spec §7: each under 60 s, peak RSS flat): seeds
## 10M (about 11 min), then each run on a fresh copy; about 25 min in all, 26 GB of disk while it
## runs. Writes bench/results/<date>-10m.* and the page's lead table (docs/benchmarks.md).
BENCH_10M_ARGS = --sizes 10m --contenders floor_compost,project_compost,floor_redistribution,project_redistribution --no-latency --no-throughput --no-settlement-latency --no-server --no-processes --no-second-report --tag 10m

bench-10m: $(STAMP)
	DATABASE_URL='$(BENCH_DATABASE_URL)' $(BIN)/python manage.py saka_bench $(BENCH_10M_ARGS) $(BENCH_ARGS)

## The lead table and chart of docs/benchmarks.md again from the latest results of each kind
## in bench/results/ (make bench, make bench-10m, make bench-dashboard), measuring nothing
bench-page: $(STAMP)
	DATABASE_URL= $(BIN)/python manage.py saka_bench --page

bench-quick: $(STAMP)
	DATABASE_URL='$(BENCH_DATABASE_URL)' $(BIN)/python manage.py saka_bench --quick $(BENCH_ARGS)

## The staff dashboard's panels and the run export timed (docs/dashboard.md) on their own
## database, emptied first: BENCH_ARGS="--wallets 1000000 --postings 10000000" for the
## documented size (default 10k wallets, 100k postings)
DASH_BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/saka_dash_bench

bench-dashboard: $(STAMP)
	psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'saka_dash_bench'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE saka_dash_bench"
	DATABASE_URL='$(DASH_BENCH_DATABASE_URL)' $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL='$(DASH_BENCH_DATABASE_URL)' $(BIN)/python manage.py saka_bench_dashboard --reset --json bench/results/dashboard-$(shell date -u +%F).json $(BENCH_ARGS)
	DATABASE_URL= $(BIN)/python manage.py saka_bench --page

## The policy lab's what-if timed on the synthetic population and checked against the dry runs
## (docs/policy-lab.md), on PostgreSQL: make bench-policy BENCH_ARGS="--wallets 1000000".
POLICY_BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/saka_policy_bench
bench-policy: $(STAMP)
	psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'saka_policy_bench'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE saka_policy_bench"
	DATABASE_URL='$(POLICY_BENCH_DATABASE_URL)' $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL='$(POLICY_BENCH_DATABASE_URL)' $(BIN)/python manage.py saka_bench_policy --reset $(BENCH_ARGS)

## The OpenAPI schema fuzzed (schemathesis) against a running server on PostgreSQL, every
## operation once per role (docs/testing.md): exit 1 on any server error, schema break, or
## reconcile discrepancy. Its own database (FUZZ_DB, default saka_fuzz), dropped and created.
fuzz: $(STAMP)
	scripts/fuzz.sh

## The apps as a library (docs/embedding.md): the wheel installed in a fresh virtualenv, the
## example host project's suite (examples/embed/) run there (DATABASE_URL: its database)
embed-test:
	scripts/embed_test.sh

## The browser tests (tests/browser: Playwright + Debian's Chromium, PostgreSQL) writing their
## screenshots to docs/screenshots/ (DATABASE_URL: a PostgreSQL server's database)
screenshots: $(STAMP)
	SAKA_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider --create-db tests/browser

lint: $(STAMP)
	$(BIN)/ruff check src config tests bench examples
	$(BIN)/ruff format --check src config tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff format src config tests bench examples
	$(BIN)/ruff check --fix src config tests bench examples

clean:
	rm -rf $(VENV) node_modules db.sqlite3 .pytest_cache .mypy_cache .ruff_cache .hypothesis
