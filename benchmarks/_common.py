"""Helpers shared by the benchmark scripts: timing, the environment line, markdown tables.

Not part of nasbench; the scripts import it as a sibling module
(``benchmarks/`` is put on ``sys.path`` by each script).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(ROOT))


def environment(*modules: str) -> str:
    """One line naming the machine, Python and the versions of ``modules``, for the record."""
    import importlib

    versions = []
    for name in ("numpy", *modules):
        try:
            versions.append(f"{name} {importlib.import_module(name).__version__}")
        except (ImportError, AttributeError):
            versions.append(f"{name} n/a")
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, nasbench {git_revision()}, " + ", ".join(versions))


def git_revision() -> str:
    """Short commit of the checkout, with ``+local changes`` when nasbench/ differs from it."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "nasbench"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "(not a git checkout)"
    return sha + (" +local changes" if dirty else "")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call of ``fn`` (``time.perf_counter``) and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def best_of(fn: Callable[[], Any], repeats: int, budget: float = float("inf")) -> tuple[float, Any, int]:
    """Best wall time of up to ``repeats`` calls, stopping early once ``budget`` seconds are
    spent; returns (best time, last result, calls made)."""
    times: list[float] = []
    result = None
    while len(times) < repeats and (not times or sum(times) + min(times) <= budget):
        t, result = timed(fn)
        times.append(t)
    return min(times), result, len(times)


def int_list(what: str, minimum: int, example: str) -> Callable[[str], tuple[int, ...]]:
    """An argparse ``type``: comma-separated integers, each >= ``minimum``, refused with the fix."""
    import argparse

    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected integers separated by commas, e.g. {example}, "
                                             f"got {text!r}") from None
        if not values or min(values) < minimum:
            raise argparse.ArgumentTypeError(f"{what} must be >= {minimum}, got {text!r}")
        return values

    return parse


def markdown_table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; cells are formatted with ``str``."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(report: str, out: Path | None) -> None:
    """Print the report and, if ``out`` is given, write it there (creating folders)."""
    print(report)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report + "\n")
