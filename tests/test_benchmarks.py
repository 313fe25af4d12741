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
