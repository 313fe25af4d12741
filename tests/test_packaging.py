"""pyproject.toml (pip, the source of truth) and environment.yml (conda) must agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_side = dict(_split(r) for r in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pip_side.update(_split(r) for r in extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_side = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            conda_side.update(_split(r) for r in dep["pip"] if not r.startswith("-e"))
        else:
            conda_side.update([_split(dep)])
    python = conda_side.pop("python")
    conda_side.pop("pip")
    assert conda_side == pip_side, "environment.yml and pyproject.toml disagree: update both together"
    assert (python, project["requires-python"]) == ("=3.11", ">=3.11")


def test_package_version_is_single_sourced():
    import nasbench

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert nasbench.__version__ == project["version"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make run" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
