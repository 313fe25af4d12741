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
