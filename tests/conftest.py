from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread: on a 2-core machine that is also running Dask workers,
    OpenMP spin-waiting makes two threads many times slower for the tiny test models."""
    import torch

    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session", autouse=True)
def _isolated_tool_dirs(tmp_path_factory):
    """Matplotlib, IPython and Jupyter write their state into a temporary folder."""
    base = tmp_path_factory.mktemp("tooldirs")
    for var in ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"):
        os.environ[var] = str(base / var.lower())
    yield


@pytest.fixture(scope="session")
def zdt_study(tmp_path_factory):
    """A small NSGA-II study on ZDT1 (3 variables, 24 trials, no learning curves), shared
    read-only by the explorer and plot tests."""
    from nasbench.objectives import problem
    from nasbench.study import Study

    study = Study.create(tmp_path_factory.mktemp("zdt") / "s", problem("zdt1", n_var=3), seed=1)
    study.optimize(24)
    yield study
    study.close()
