from __future__ import annotations

import pandas as pd
import plotly.io as pio

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
