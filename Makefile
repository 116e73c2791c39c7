# Two commands do everything on a fresh machine:
#   make demo   - set up, generate the sample county, run the monthly flow on it
#   make test   - set up and run the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PERIOD ?= 2026-10

$(BIN)/python:
	$(PY) -m venv $(VENV)

# the tested versions (constraints.txt); `make setup CONSTRAINTS=` installs the newest pyproject allows
CONSTRAINTS ?= constraints.txt

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]" $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	touch $@

setup: $(VENV)/.installed

sample_data/county/.done: $(VENV)/.installed $(wildcard sample_data/*.py)
	$(BIN)/python -m sample_data.generate --out sample_data/county --periods $(PERIOD)
	touch $@

demo: sample_data/county/.done
	$(BIN)/python flows.py run --inbox sample_data/county/inbox --period $(PERIOD) --out out
	$(BIN)/python -m matchers.evaluate --links out/$(PERIOD)/links.parquet --truth sample_data/county/truth/links.csv --by-kind --calibration \
		--inbox sample_data/county/inbox/$(PERIOD)

# one worker per core, each test file on one worker (its module fixtures, a county's run
# for many tests, are made once): the end-to-end files wait on Prefect and subprocesses
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

.PHONY: setup demo test
