# The two commands a newcomer needs: `make demo` and `make test`. Everything else is their parts.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export PYTHONPATH := $(CURDIR)
MODEL := models/handoff.tar.gz
BOT_FILES := $(wildcard data/*.yml) domain.yml config.yml

.PHONY: demo demo-scaled test bench bench-check bench-scaled setup model webchat lint typecheck unit services constraints clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt scripts/bootstrap.sh
	@VENV=$(VENV) bash scripts/bootstrap.sh
	@touch $@

model: $(MODEL)

# Trains only when the bot's data or configuration changed.
$(MODEL): $(BOT_FILES) | $(VENV)/.installed
	@echo "model: training the reference bot (about a minute)..."
	@mkdir -p models
	@$(RASA) train --fixed-model-name handoff --out models --quiet >/tmp/rasa-handoff-train.log 2>&1 \
	  || { tail -30 /tmp/rasa-handoff-train.log; echo "model: training failed (log above, full log in /tmp/rasa-handoff-train.log)"; exit 1; }
	@touch $@
	@echo "model: $(MODEL) ready"

services: setup
	@bash scripts/system_services.sh

# rasa-webchat's bundle for the live-chat demo page (from npm, checksum-pinned, not committed).
webchat: vendor/rasa-webchat/index.js

vendor/rasa-webchat/index.js: scripts/fetch_webchat.sh
	@bash scripts/fetch_webchat.sh

demo: setup model webchat
	@bash scripts/demo.sh

# The production layout on one machine: nginx 5005 -> Rasa replicas 5006, 5007 -> actions 5055,
# PostgreSQL and Redis, all as plain processes under .handoff/scaled/ (README, "Production layout").
demo-scaled: setup model webchat services
	@VENV=$(VENV) bash scripts/demo_scaled.sh

test: setup model services webchat
	@$(VENV)/bin/ruff check handoff_plugin rasa_sdk_plugins channels actions tests bench
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache
	@$(VENV)/bin/pytest -q -p no:cacheprovider -m "not bench" $(PYTEST_ARGS)

# The benchmark suite still runs end to end: every figure measured at a tiny size (about 5 minutes;
# kept out of `make test` for its time budget).
bench-check: setup model webchat
	@$(VENV)/bin/pytest -q -p no:cacheprovider -m bench $(PYTEST_ARGS)

# The performance suite (about 15 minutes on 2 cores): every figure against its baseline in the same
# run, written to bench/RESULTS.md. BENCH_ARGS="--quick" for a smoke run, "--minutes 5" for a longer load.
bench: setup model webchat
	@BENCH_COMMAND="make bench $(BENCH_ARGS)" $(PY) bench/run_all.py $(BENCH_ARGS)

# Scale-out on the demo-scaled stack: saturation with one and two replicas through nginx, and the
# agent -> visitor relay across replicas against within one (about 3 minutes).
bench-scaled: setup model webchat services
	@$(PY) bench/scaled.py $(BENCH_ARGS)

unit: setup
	@$(VENV)/bin/pytest -q -m "not slow" $(PYTEST_ARGS)

lint: setup
	@$(VENV)/bin/ruff check handoff_plugin rasa_sdk_plugins channels actions tests bench
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache

constraints:
	@$(VENV)/bin/pip freeze --exclude-editable | grep -v -i '^rasa-handoff' \
	  | sed '1i # Every package of the venv, pinned: Rasa 3.6.21 and its pins, plus what rasa-handoff adds. Regenerate with `make constraints`.' > constraints.txt

clean:
	rm -rf models .handoff .pytest_cache .mypy_cache .ruff_cache test-artifacts vendor
