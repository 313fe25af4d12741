"""Every notebook runs under papermill on tiny parameters; reports render offline."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from nasbench.reports import ReportError, notebook_parameters, render

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TINY = {
    "01_evolutionary_nas.ipynb": {"population": 3, "generations": 2, "max_epochs": 1, "folds": 2, "n_samples": 200},
    "02_ga_vs_bo_mlp.ipynb": {"population": 2, "generations": 1, "max_epochs": 1, "seeds": 2, "samples_a": 60,
                              "samples_b": 100},
    "03_joint_search_bohb.ipynb": {"seeds": 2, "trials": 3, "max_epochs": 1, "n_samples": 300, "mo_trials": 3},
    "04_optimizer_comparison.ipynb": {"seeds": 2, "budget": 8, "max_epochs": 3, "epochs_budget": 6},
}


def errors(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [o.get("evalue", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "error"]


# The tests of one rendered report run in one pytest-xdist worker (make test), which renders it once.
on_rendered_01 = pytest.mark.xdist_group("test_notebooks_rendered_01")
on_rendered_03 = pytest.mark.xdist_group("test_notebooks_rendered_03")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Notebook 01 on tiny parameters, then 00 exploring its study."""
    out = tmp_path_factory.mktemp("reports")
    study = out / "study01"
    paths = {"01": render(NOTEBOOKS / "01_evolutionary_nas.ipynb",
                          {**TINY["01_evolutionary_nas.ipynb"], "study_dir": str(study)}, output_dir=out)}
    paths["00"] = render(NOTEBOOKS / "00_explore.ipynb", {"study_dir": str(study)}, output_dir=out)
    return paths


@pytest.fixture(scope="module")
def rendered_03(tmp_path_factory):
    """Notebook 03 on tiny parameters (one PyTorch thread per trial, its default):
    the executed notebook, its HTML and the study folder."""
    out = tmp_path_factory.mktemp("report03")
    name = "03_joint_search_bohb.ipynb"
    executed, html = render(NOTEBOOKS / name, {**TINY[name], "study_dir": str(out / "study"), "threads": 1},
                            output_dir=out)
    return executed, html, out / "study"


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
        code = [c for c in nb.cells if c.cell_type == "code" and c is not tagged[0]]  # one line per parameter there
        assert max(len(c.source.splitlines()) for c in code) <= 12, f"{path.name}: logic belongs in nasbench/"
    assert set(notebook_parameters(NOTEBOOKS / "01_evolutionary_nas.ipynb")) >= {"dataset", "population", "seed"}


@on_rendered_01
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


@on_rendered_03
def test_notebook_03_runs_bohb_clean_on_tiny_parameters(rendered_03):
    executed, html, _ = rendered_03
    assert errors(executed) == []
    text = html.read_text()
    assert "BOHB beat the baseline's test accuracy in" in text and "of 2 runs" in text  # the computed verdict
    nb = nbformat.read(executed, as_version=4)
    plots = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plots) == 4  # incumbent bands, parallel coordinates, multi-objective plane, importance per objective


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
    ("04_optimizer_comparison.ipynb", {"optimizers": "nsga2,cmaes"}, "unknown optimizer 'cmaes'; use one of"),
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


def _dom_offline(chromium: str, html: Path, profile: Path) -> str:
    """The page as chromium draws it with the network blocked (every host unresolvable,
    a dead proxy): what a reader without internet sees."""
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
                           f"--user-data-dir={profile}", "--virtual-time-budget=15000",
                           "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120).stdout


@on_rendered_01
def test_plotly_figures_are_drawn_offline_in_chromium(rendered, tmp_path):
    for _, html in rendered.values():  # nothing to fetch: no script from the network, inline plotly.js
        assert not re.findall(r'<script[^>]*\ssrc="https?://', html.read_text())
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install -y chromium (.ci/run does)")
    dom = _dom_offline(chromium, rendered["01"][1], tmp_path / "profile")
    # plotly.js draws each figure as an <svg class="main-svg"> with its points as paths
    assert dom.count('class="main-svg"') >= 6
    assert dom.count('class="point"') >= 10
    assert "val_top3_accuracy (fraction)" in dom and "n_params (parameters)" in dom
    explorer = _dom_offline(chromium, rendered["00"][1], tmp_path / "profile")
    assert "VBox(children" not in explorer and "needs a live kernel" in explorer
    assert explorer.count('class="main-svg"') >= 4  # the explorer's static view, front, hypervolume, curves


@pytest.mark.slow
def test_explore_opens_a_study_run_from_the_shell(tmp_path):
    from nasbench.cli import main

    study = tmp_path / "zdt1"
    assert main(["run", "zdt1", "--directory", str(study), "--trials", "200"]) == 0
    executed, html = render(NOTEBOOKS / "00_explore.ipynb", {"study_dir": str(study)}, output_dir=tmp_path)
    assert errors(executed) == []
    text = html.read_text()
    assert "VBox(children" not in text and "needs a live kernel" in text  # the explorer's static view
    assert "zdt1 (n_var=30)" in text and "hypervolume / reference box" in text  # the summary as a table
    assert "true Pareto front" in text and "IGD+" in text and "learning curves: none stored" in text.lower()


def test_notebook_02_runs_clean_and_states_its_verdict(tmp_path):
    executed, html = render(NOTEBOOKS / "02_ga_vs_bo_mlp.ipynb",
                            {**TINY["02_ga_vs_bo_mlp.ipynb"], "study_dir": str(tmp_path / "study")}, output_dir=tmp_path)
    assert errors(executed) == []
    text = html.read_text()
    assert "Bayesian optimisation" in text and "Task A" not in text  # BO, tasks by name
    for task in ("noisy sinewave (cubic target + noise)", "MNIST-1D (one-hot MSE)"):
        assert f"{task}: GA had the lower best val_mse in" in text and "Seed 003 found" in text
    assert "leakyrelu" in text and "Mann-Whitney U, 2 runs each" in text


def test_seed_study_notebooks_fix_the_threads_so_a_report_repeats():
    for name in ("01_evolutionary_nas.ipynb", "02_ga_vs_bo_mlp.ipynb", "03_joint_search_bohb.ipynb"):
        assert notebook_parameters(NOTEBOOKS / name)["threads"] == "1", name
        source = "".join(c.source for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells)
        assert "threads=threads or None" in source, name


@on_rendered_03
def test_notebook_03_report_reads_cleanly(rendered_03):
    from nasbench.study import Study

    executed, html, study_dir = rendered_03
    nb = nbformat.read(executed, as_version=4)
    texts = [str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
             for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not any("trial/s" in t for t in texts)  # no frozen per-study progress bars
    text = html.read_text()
    assert text.count('"text":"baseline median"') == 2  # each panel labels its line (a None text draws "new text")
    assert re.search(r">[+-]\d+\.\d</td>", text) and re.search(r">\d+\.\d%</td>", text)  # points, accuracies as %
    trials = Study.load(study_dir / "seed0").trials_dataframe()
    assert set(trials["metrics_threads"].dropna()) == {1}
