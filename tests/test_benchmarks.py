"""The benchmark scripts keep working: each runs with --quick (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("bench_*.py")))
def test_benchmark_runs_quick(script, tmp_path):
    out = tmp_path / "report.md"
    result = subprocess.run([sys.executable, str(BENCH / script), "--quick", "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.read_text().count("|") > 10  # a markdown table was written


@pytest.mark.slow
def test_multifidelity_benchmark_runs_single_objective(tmp_path):
    out = tmp_path / "report.md"
    result = subprocess.run([sys.executable, str(BENCH / "bench_multifidelity.py"), "--quick", "--objectives", "error",
                             "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "val_error (minimised)" in text and "BO (EI)" in text and "hypervolume (fraction)" not in text
