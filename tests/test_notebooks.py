"""Every notebook runs under papermill on tiny parameters; reports render offline."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from nasbench.reports import ReportError, notebook_parameters, render

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TINY = {
    "01_evolutionary_nas.ipynb": {"population": 4, "generations": 2, "max_epochs": 1, "folds": 2},
    "02_ga_vs_bo_mlp.ipynb": {"population": 3, "generations": 2, "max_epochs": 1},
    "03_joint_search_bohb.ipynb": {"seeds": 2, "trials": 3, "max_epochs": 1},
}


def errors(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [o.get("evalue", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "error"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Notebook 01 on tiny parameters, then 00 exploring its study."""
    out = tmp_path_factory.mktemp("reports")
    study = out / "study01"
    paths = {"01": render(NOTEBOOKS / "01_evolutionary_nas.ipynb",
                          {**TINY["01_evolutionary_nas.ipynb"], "study_dir": str(study)}, output_dir=out)}
    paths["00"] = render(NOTEBOOKS / "00_explore.ipynb", {"study_dir": str(study)}, output_dir=out)
    return paths


def test_sources_are_clean_and_parameterised():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].cell_type == "markdown" and "seed" in nb.cells[0].source.lower() or path.name.startswith("00")
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        for node in ast.parse(tagged[0].source).body:  # annotated literals only
            assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), path.name
        assert all("#" in line for line in tagged[0].source.splitlines()), f"{path.name}: comment every parameter"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} has outputs"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert max(len(c.source.splitlines()) for c in code) <= 12, f"{path.name}: logic belongs in nasbench/"
    assert set(notebook_parameters(NOTEBOOKS / "01_evolutionary_nas.ipynb")) >= {"dataset", "population", "seed"}


def test_evolutionary_nas_and_explore_run_clean(rendered):
    for executed, html in rendered.values():
        assert errors(executed) == []
        assert html.stat().st_size > 100_000  # plotly.js inlined
        text = html.read_text()
        assert "How this report was produced" in text and "cdn.plot.ly/plotly" not in text
    executed = rendered["01"][0]
    nb = nbformat.read(executed, as_version=4)
    plots = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plots) >= 6  # live front, fronts by generation, population, hypervolume, coverage, plane


@pytest.mark.parametrize("name", ["02_ga_vs_bo_mlp.ipynb", "03_joint_search_bohb.ipynb"])
def test_notebook_runs_clean_on_tiny_parameters(name, tmp_path):
    executed, html = render(NOTEBOOKS / name, {**TINY[name], "study_dir": str(tmp_path / "study")},
                            output_dir=tmp_path)
    assert errors(executed) == []
    assert "random search" in html.read_text().lower()  # says what stands in for BO / BOHB


@pytest.mark.parametrize("name, params, message", [
    ("01_evolutionary_nas.ipynb", {"dataset": "nope"}, "unknown dataset 'nope'; use one of"),
    ("01_evolutionary_nas.ipynb", {"population": 1}, "population must be an integer >= 2, got 1"),
    ("03_joint_search_bohb.ipynb", {"optimizer": "cmaes"}, "unknown optimizer 'cmaes'; use one of"),
    ("00_explore.ipynb", {"study_dir": "/nonexistent/study"}, "does not exist; create a study there first"),
    ("01_evolutionary_nas.ipynb", {"image_size": "abc"}, "image_size must be an integer >= 1 (or None: as the images "
                                                         "come), got 'abc' (a str); pass an int"),
    ("01_evolutionary_nas.ipynb", {"seed": -1}, "seed must be an integer >= 0, got -1"),
    ("01_evolutionary_nas.ipynb", {"fresh": "maybe"}, "fresh must be True or False, got 'maybe' (a str)"),
    ("02_ga_vs_bo_mlp.ipynb", {"study_dir": 5}, "study directory must be a path such as 'studies/01', got 5 (an int)"),
    ("02_ga_vs_bo_mlp.ipynb", {"seed": "abc"}, "seed must be an integer >= 0, got 'abc' (a str); pass an int"),
    ("03_joint_search_bohb.ipynb", {"study_dir": "{tmp}/plain.txt"}, "plain.txt is a file, not a folder; give study_dir"),
])
def test_bad_parameters_stop_at_the_first_cell(name, params, message, tmp_path):
    (tmp_path / "plain.txt").write_text("x")
    params = {k: v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v for k, v in params.items()}
    with pytest.raises(ReportError) as info:
        render(NOTEBOOKS / name, params, output_dir=tmp_path)
    text = str(info.value)
    assert message in text and "\n" not in text
    nb = nbformat.read(tmp_path / name, as_version=4)
    first_code_after_params = [c for c in nb.cells if c.cell_type == "code"][2]  # parameters, injected, first
    assert any(o.output_type == "error" for o in first_code_after_params.outputs)


@pytest.mark.parametrize("fresh", [False, True])
def test_a_folder_that_is_not_a_study_survives_the_notebook(fresh, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "f").write_text("x")
    with pytest.raises(ReportError, match=r"victim is not a nasbench study \(no study.db\) and holds \['f'\]"):
        render(NOTEBOOKS / "01_evolutionary_nas.ipynb", {**TINY["01_evolutionary_nas.ipynb"], "study_dir": str(victim),
                                                         "fresh": fresh}, output_dir=tmp_path / "reports")
    assert [p.name for p in victim.iterdir()] == ["f"] and (victim / "f").read_text() == "x"


def test_every_study_notebook_offers_a_fresh_start_defaulting_to_resume():
    for name in TINY:
        assert notebook_parameters(NOTEBOOKS / name)["fresh"] == "False", name


def test_unknown_parameter_is_refused(tmp_path):
    with pytest.raises(ReportError, match=r"has no parameters \['popsize'\]"):
        render(NOTEBOOKS / "01_evolutionary_nas.ipynb", {"popsize": 3}, output_dir=tmp_path)


def test_plotly_figures_are_drawn_offline_in_chromium(rendered, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install -y chromium (.ci/run does)")
    html = rendered["01"][1]
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
                          "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120).stdout
    # plotly.js draws each figure as an <svg class="main-svg"> with its points as paths
    assert dom.count('class="main-svg"') >= 6
    assert dom.count('class="point"') >= 10
    assert "val_top3_accuracy (fraction)" in dom and "n_params (parameters)" in dom
