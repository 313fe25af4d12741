# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STUDY  ?= studies/zdt1

.PHONY: run test test-fast bench clean help

help:
	@echo "make run    - create $(VENV), install nasbench, run the main study"
	@echo "make test   - create $(VENV) with the test extras, run the whole test suite"
	@echo "make bench  - run the benchmarks and write benchmarks/results/*.md"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/nasbench run zdt1 --directory $(STUDY) --trials 2000 --population 100 --seed 0

test: $(VENV)/.installed-test
	$(PY) -m pytest

test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -m "not slow"

bench: $(VENV)/.installed-test
	mkdir -p benchmarks/results
	$(PY) benchmarks/bench_hypervolume.py --out benchmarks/results/hypervolume.md
	$(PY) benchmarks/bench_survival.py --out benchmarks/results/survival.md
	$(PY) benchmarks/bench_quality.py --out benchmarks/results/quality.md
	$(PY) benchmarks/bench_overhead.py --out benchmarks/results/overhead.md

clean:
	rm -rf $(VENV) studies .pytest_cache
