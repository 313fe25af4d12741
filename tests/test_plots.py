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
