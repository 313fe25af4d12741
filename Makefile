# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
NB     := $(VENV)/bin/nasbench

.PHONY: run reports lab test test-fast bench clean help

help:
	@echo "make run      - create $(VENV), install nasbench, run the main study into reports/01_evolutionary_nas.html"
	@echo "make test     - create $(VENV) with the test extras, run the whole test suite"
	@echo "make reports  - render every notebook with its defaults into reports/"
	@echo "make lab      - install JupyterLab and open the notebooks"
	@echo "make bench    - run the benchmarks and write benchmarks/results/*.md"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(NB) report notebooks/01_evolutionary_nas.ipynb --output-dir reports
	@echo "study in studies/01_evolutionary_nas/ (nasbench show studies/01_evolutionary_nas)"

reports: $(VENV)/.installed
	$(NB) report notebooks/01_evolutionary_nas.ipynb --output-dir reports
	$(NB) report notebooks/00_explore.ipynb --output-dir reports
	$(NB) report notebooks/02_ga_vs_bo_mlp.ipynb --output-dir reports
	$(NB) report notebooks/03_joint_search_bohb.ipynb --output-dir reports
	$(NB) report notebooks/04_optimizer_comparison.ipynb --output-dir reports

lab: $(VENV)/.installed
	$(PY) -m pip install -e ".[lab]"
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# The tests run in parallel processes (pytest-xdist, one per core); tests that share an
# expensive module fixture carry an xdist_group mark and stay in one process.
# TEST_WORKERS=0 runs them all in this process (e.g. to debug with pdb).
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

test: $(VENV)/.installed-test
	$(PYTEST)

test-fast: $(VENV)/.installed-test
	$(PYTEST) -m "not slow"

bench: $(VENV)/.installed-test
	mkdir -p benchmarks/results
	$(PY) benchmarks/bench_hypervolume.py --out benchmarks/results/hypervolume.md
	$(PY) benchmarks/bench_survival.py --out benchmarks/results/survival.md
	$(PY) benchmarks/bench_quality.py --out benchmarks/results/quality.md
	$(PY) benchmarks/bench_overhead.py --out benchmarks/results/overhead.md
	$(PY) benchmarks/bench_training.py --out benchmarks/results/training.md

clean:
	rm -rf $(VENV) studies .pytest_cache
