# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench conformance fuzz chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/asl validate asl_examples/*.asl.json asl_examples/order_fulfilment/*.asl.json
	$(BIN)/asl run asl_examples/order_processing.asl.json --input-file asl_examples/order_processing.input.json --functions asl_examples/functions.py --virtual-time

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python -m bench

# Differential fuzzing: generated machines down every path a user has, for MINUTES (default 10).
MINUTES ?= 10
fuzz: $(STAMP)
	$(BIN)/python -m tests.differential.fuzz --minutes $(MINUTES)

# Chaos: faults (kill -9, SIGSTOP past the lease, locked SQLite, killed PostgreSQL connections, a
# full disk) under load on each store at once for MINUTES, then the checks (tests/chaos/).
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos.run --minutes $(MINUTES)

conformance: $(STAMP)
	$(BIN)/python ../shared/conformance/run.py exec --cmd "$(BIN)/asl"
	$(BIN)/python ../shared/conformance/run.py validate --cmd "$(BIN)/asl"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
