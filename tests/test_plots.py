from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from nasbench import analysis, plots
from tests.test_analysis import DIRS, T


def test_setup_notebook_inlines_plotly():
    plots.setup_notebook()
    assert pio.renderers.default == "plotly_mimetype+notebook"


def test_labels_carry_units():
    assert plots.label("values_n_params") == "n_params (parameters)"
    assert plots.label("val_top3_accuracy") == "val_top3_accuracy (fraction)"
    assert plots.label("custom") == "custom"


def test_figures_from_analysis_results():
    fronts = plots.pareto_by_generation(analysis.pareto_fronts_by_generation(T, DIRS), "size", "acc")
    assert len(fronts.frames) == 2 and fronts.layout.xaxis.title.text == "size"
    hv = plots.hypervolume_trace(analysis.hypervolume_trace(T, DIRS, [0.0, 40.0]))
    assert hv.layout.xaxis.title.text == "evaluations (trials)" and hv.layout.xaxis2.title.text == "wall time (s)"
    plane = plots.objective_plane(analysis.final_front(T, DIRS), "size", "acc",
                                  {"default": {"size": 10.0, "acc": 0.5}, "ResNet-50": {"size": 25e6}})
    assert [t.name for t in plane.data] == ["Pareto front", "default"]
    assert plane.layout.shapes[0].x0 == 25e6  # size-only reference as a vertical line
    agg = analysis.aggregate_traces({"a": analysis.incumbent_trace(T, "acc", "maximize")})
    bands = plots.incumbent_bands({"random": agg}, metric="acc", baseline=0.5)
    assert [t.name for t in bands.data] == ["random 25-75%", "random median"]
    df = T.assign(params_x=[1, 2, 3, 4, 5], params_opt=["adam", "sgd", "adam", "sgd", "adam"])
    pc = plots.parallel_coordinates(df, ["opt", "x"], "acc", highlight=df["values_acc"] > 0.5)
    assert [d.label for d in pc.data[0].dimensions] == ["opt", "x", "acc"]
    curves = pd.DataFrame({"trial_id": [0, 0], "fold": [0, 0], "epoch": [1, 2], "val_loss": [1.0, 0.5]})
    assert plots.learning_curves(curves).layout.yaxis.title.text == "validation loss"


def test_plots_hold_no_callbacks_dead_code_or_private_plotly_calls():
    import inspect

    source = inspect.getsource(plots)
    assert not hasattr(plots, "LiveFront") and not hasattr(plots, "coverage_static")
    assert "_activate_pending_renderers" not in source and ".study" not in source


def test_live_front_draws_the_front_it_is_handed():
    front = pd.DataFrame({"trial_id": [3, 5], "generation": [0, 1], "values_n_params": [100.0, 2000.0],
                          "values_val_top3_accuracy": [0.5, 0.9]})
    fig = plots.live_front(front, "n_params", "val_top3_accuracy", n_trials=8)
    assert fig.layout.title.text == "Live Pareto front after 8 trials"
    assert list(fig.data[0].x) == [100.0, 2000.0] and list(fig.data[0].y) == [0.5, 0.9]
    assert fig.layout.xaxis.title.text == "n_params (parameters)" and fig.layout.xaxis.type == "log"


class _Study:
    """Just what LiveFront reads: the current front."""

    def __init__(self) -> None:
        self.calls = 0

    def pareto_front(self) -> pd.DataFrame:
        self.calls += 1
        return pd.DataFrame({"trial_id": [0], "generation": [0], "values_size": [float(self.calls)],
                             "values_acc": [0.5]})


def test_live_front_callback_redraws_one_output_every_n_trials(monkeypatch):
    from types import SimpleNamespace

    import IPython.display

    from nasbench.callbacks import LiveFront

    shown, updates = [], []

    class Handle:
        def update(self, bundle, raw):
            updates.append(bundle)

    def display(bundle, raw, display_id):
        assert raw and display_id
        shown.append(bundle)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    live, study = LiveFront("size", "acc", every=2), _Study()
    for trial_id in range(6):
        live(study, SimpleNamespace(trial_id=trial_id))
    assert study.calls == 3 and len(shown) == 1 and len(updates) == 2  # one output, redrawn in place
    figure = updates[-1]["application/vnd.plotly.v1+json"]
    x = figure["data"][0]["x"]  # plotly's typed-array encoding
    assert np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]).tolist() == [3.0] and figure["layout"]["title"]["text"] == "Live Pareto front after 6 trials"
    assert "<div" in updates[-1]["text/html"] and "plotly.js v" not in updates[-1]["text/html"]
    with pytest.raises(ValueError, match="every must be an integer >= 1, got 0"):
        LiveFront("size", "acc", every=0)


def test_generation_colours_are_discrete_steps_with_integer_ticks():
    info = analysis.population_over_time(T, {0: [0, 1, 2], 1: [0, 3, 4]})
    fig = plots.population_over_time(info, "size", "acc")
    axis = fig.layout.coloraxis
    assert (axis.cmin, axis.cmax) == (-0.5, 1.5) and list(axis.colorbar.tickvals) == [0, 1]
    scale = [tuple(s) for s in axis.colorscale]
    assert len(scale) == 4 and scale[0][1] == scale[1][1] and scale[1][1] != scale[2][1]  # one flat band a generation
    assert [s[0] for s in scale] == [0.0, 0.5, 0.5, 1.0]


def test_hypervolume_is_drawn_as_a_step_function_with_its_shares():
    info = analysis.hypervolume_trace(T, DIRS, [0.0, 40.0], best_known=43.0)
    fig = plots.hypervolume_trace(info)
    assert [t.line.shape for t in fig.data] == ["hv", "hv"]
    assert fig.data[0].customdata[-1].tolist() == pytest.approx([21.5 / 24.5, 0.5])
    assert "of reference box" in fig.data[0].hovertemplate and "87.8% of reference box" in fig.layout.title.text
    with_front = analysis.hypervolume_trace(T, DIRS, [0.0, 40.0], true_front=np.array([[0.7, 5.0], [0.3, 5.0]]))
    fig = plots.hypervolume_trace(with_front)
    assert [t.name for t in fig.data][-2:] == ["IGD+", "IGD"] and "IGD+ 0.2" in fig.layout.title.text


def test_coverage_keeps_titles_clear_of_tick_labels():
    from nasbench.space import Categorical, Integer, SearchSpace

    space = SearchSpace(tuple(Integer(f"n{i}", 1, 3) for i in range(5)) + (Categorical("act", ("relu", "tanh")),))
    df = pd.DataFrame({**{f"params_n{i}": [1, 2, 3] for i in range(5)}, "params_act": ["relu", "tanh", "relu"]})
    fig = plots.coverage(analysis.coverage(df, space))
    # two rows: the gap between them must hold the angled tick labels (>= 120 px of the figure's height)
    lower, upper = fig.layout.yaxis.domain, fig.layout.yaxis5.domain
    assert (upper[0] - lower[1]) * fig.layout.height >= 120
    assert fig.layout.xaxis.type == "category" and list(fig.data[0].x) == ["1", "2", "3"]


def test_parallel_coordinates_log_integer_axes_and_a_fixed_highlight_scale():
    from nasbench.space import Categorical, Float, Integer, SearchSpace

    space = SearchSpace((Float("lr", 1e-4, 1e-1, log=True), Integer("layers", 1, 5), Categorical("opt", ("adam", "sgd"))))
    df = T.assign(params_lr=[1e-4, 1e-3, 1e-2, 1e-1, 3e-3], params_layers=[1, 2, 3, 4, 5],
                  params_opt=["adam", "sgd", "adam", "sgd", "adam"])
    none_better = pd.Series(False, index=df.index)
    fig = plots.parallel_coordinates(df, ["lr", "layers", "opt"], "acc", highlight=none_better, space=space)
    lr, layers, opt, metric = fig.data[0].dimensions
    assert lr.label == "lr (log)" and list(lr.values) == pytest.approx(np.log10(df["params_lr"]))
    assert list(lr.ticktext) == ["0.0001", "0.001", "0.01", "0.1"]
    assert all(float(t).is_integer() for t in layers.tickvals) and list(opt.ticktext) == ["adam", "sgd"]
    line = fig.data[0].line
    assert (line.cmin, line.cmax) == (0, 1)  # none highlighted stays grey, not the scale's middle
    assert "the 0 of 5 trials" in fig.layout.title.text and fig.data[0].labelangle == -25
    two = plots.parallel_coordinates(df, ["lr", "layers"], "acc", highlight=df["values_acc"] > 0.5)
    assert list(two.data[0].line.color) == [0, 0, 0, 1, 1]  # highlighted last: drawn on top
    assert two.data[0].dimensions[0].label == "lr (log)"  # inferred without a space: spans three decades


def test_one_call_figures_take_a_study(zdt_study):
    df = zdt_study.trials_dataframe()
    dirs = {"f1": "minimize", "f2": "minimize"}
    front = plots.pareto_front(zdt_study)
    names = [t.name for t in front.data]
    assert names == ["true Pareto front", "all trials", "Pareto front"]
    assert sorted(front.data[2].x) == sorted(analysis.final_front(df, dirs)["values_f2"])  # x: the last metric
    igd = analysis.igd(df, dirs, plots.known_front(zdt_study))["igd_plus"]
    assert f"IGD+ {igd:.3g}" in front.layout.title.text
    history = plots.optimization_history(zdt_study, "f1")
    assert history.data[1].line.shape == "hv" and min(history.data[0].y) == history.data[1].y[-1]
    imp = plots.param_importances(zdt_study, "f1")
    assert sorted(imp.data[0].y) == ["x0", "x1", "x2"] and sum(imp.data[0].x) == pytest.approx(1.0)
    sl = plots.slice(zdt_study, ["x0", "x2"], "f2")
    assert len(sl.data) == 2 and len(sl.data[0].x) == 24 and sl.layout.title.text == "Slice plot of f2"
    with pytest.raises(ValueError, match=r"the study has no metric 'acc'; it has \['f1', 'f2'\]"):
        plots.optimization_history(zdt_study, "acc")


def test_learning_curves_of_a_study_without_them_say_so():
    fig = plots.learning_curves(analysis.learning_curves(T, [0, 1]))
    assert len(fig.data) == 0 and "none stored" in fig.layout.title.text


def test_incumbent_band_panels_label_the_baseline_in_every_panel():
    agg = pd.DataFrame({"elapsed": [1.0, 2.0], "epochs": [1, 4], "q25": [0.4, 0.3], "median": [0.5, 0.35],
                        "q75": [0.6, 0.4]})
    fig = plots.incumbent_band_panels({"elapsed": {"BOHB": agg}, "epochs": {"BOHB": agg}}, "val_error",
                                      baseline=[0.2, 0.25, 0.3])
    texts = [a.text for a in fig.layout.annotations if a.text not in ("over wall time", "over epochs trained")]
    assert texts == ["baseline median", "baseline median"]  # plotly's placeholder would read "new text"
    assert len(fig.layout.shapes) == 4  # a band and a dashed line in each panel
