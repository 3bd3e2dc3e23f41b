# GT-Vision: the project's vocabulary.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-stamp
# Plate-search benchmark size (the city-scale target is 10 million; generating it takes
# several minutes on two cores).
SEARCH_BENCH_ROWS ?= 10000000
REPORTS_BENCH_DETECTIONS ?= 10000000

export PYTHONPATH := $(CURDIR):$(CURDIR)/admin_service
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: help install system containers images stack-up stack-down services keys migrate test test-unit test-integration test-e2e \
        lint typecheck demo bench clean dashboard backup restore restore-drill

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

system:  ## Debian packages (ffmpeg, haproxy)
	tools/scripts/install_system.sh

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

containers:  ## rootful podman with runc, its settings, and the local Debian base image
	tools/scripts/install_containers.sh

install: system containers $(STAMP) keys dashboard  ## everything a fresh machine needs

images: containers $(STAMP)  ## every container image, FROM the local base (sizes: var/bench/images.md)
	tools/scripts/build_images.sh

stack-up: images keys  ## the compose stack (docker-compose.yml + compose.test.yml) up and healthy
	$(PY) -m tools.stack up

stack-down:  ## remove the compose stack, volumes included
	$(PY) -m tools.stack down

keys: .secrets/dev.env  ## generate development secrets (JWT keys, encryption keys)
.secrets/dev.env: | $(STAMP)
	$(PY) tools/scripts/gen_dev_secrets.py $(CURDIR)

services:  ## make sure PostgreSQL, Redis and RabbitMQ are running
	tools/scripts/ensure_services.sh

migrate: install services  ## roles (services), then both services' migrations, each as its owner role
	$(PY) admin_service/manage.py migrate --noinput
	$(PY) -m streaming_service.migrate

test: install services dashboard lint  ## lint, the dashboard's unit tests, then the whole pytest suite
	cd dashboard && npm test --silent
	$(VENV)/bin/pytest tests

test-unit: install  ## fast unit tests only
	$(VENV)/bin/pytest tests/unit

bench: install services  ## streaming (start, glass-to-glass, capacity; 100 city cameras for 10 min), LPR, live-alert latency and report-query benchmarks → var/bench/REPORT.md
	mkdir -p var/bench
	$(PY) tools/benchmarks/streaming_bench.py
	$(PY) tools/benchmarks/streaming_bench.py --profile city --skip-latency \
	  --ramp 32,64,100 --window 20 --hold 100 --hold-seconds 600 \
	  --output var/bench/streaming_city.md
	if [ -f tools/benchmarks/lpr_bench.py ]; then set -o pipefail; \
	  OMP_NUM_THREADS=1 $(PY) tools/benchmarks/lpr_bench.py | tee var/bench/lpr.md; fi
	$(PY) tools/benchmarks/alert_latency_bench.py
	$(PY) tools/benchmarks/ws_fanout_bench.py
	$(PY) tools/benchmarks/ws_fanout_bench.py --via-haproxy
	$(PY) tools/benchmarks/relay_bench.py
	$(PY) tools/benchmarks/search_bench.py --rows $(SEARCH_BENCH_ROWS)
	$(PY) tools/benchmarks/reports_bench.py --detections $(REPORTS_BENCH_DETECTIONS)
	$(PY) tools/benchmarks/api_bench.py
	cat var/bench/streaming.md var/bench/streaming_city.md $$(test -f var/bench/lpr.md && echo var/bench/lpr.md) \
	  var/bench/alert_latency.md var/bench/ws_fanout.md var/bench/ws_fanout_haproxy.md var/bench/relay.md \
	  var/bench/search.md var/bench/reports.md var/bench/api.md > var/bench/REPORT.md
	@echo "report: var/bench/REPORT.md"

lint: install  ## ruff, mypy and the layering contracts (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

dashboard:  ## build the operator dashboard (dashboard/dist)
	@if [ -f dashboard/package.json ]; then \
	  cd dashboard && if ! cmp -s package-lock.json node_modules/.gtv-installed-lock; then \
	    npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.gtv-installed-lock; \
	  fi && npm run build; \
	fi

demo: install services dashboard  ## run the whole system locally with simulated cameras
	$(PY) -m tools.demo

backup:  ## pgBackRest backup of the local cluster (TYPE=full|diff|incr, default diff; deploy/backup/)
	$(PY) -m tools.backup backup --type $(or $(TYPE),diff)

restore:  ## stop, restore and restart the local cluster (TARGET_TIME="2026-12-04 21:30:00+00" for a point in time)
	$(PY) -m tools.backup restore $(if $(TARGET_TIME),--target-time "$(TARGET_TIME)")
	$(PY) -m tools.backup check-keys

restore-drill: install  ## the restore drill in a throwaway cluster: prints RTO/RPO (docs/operations.md)
	$(PY) -m tools.backup drill

clean:  ## remove generated state (keeps .secrets)
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
