"""Figures drawn from :mod:`nasbench.analysis` results: Plotly (interactive) and
seaborn (static). Titles, axis labels with units, colour by generation or method.

Call :func:`setup_notebook` once in a notebook: it selects the renderer
``plotly_mimetype+notebook``, which inlines plotly.js once so HTML reports work
offline, and keeps JupyterLab's interactive view. A figure is drawn from the
data it is handed; what watches a running study lives in :mod:`nasbench.callbacks`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

__all__ = ["setup_notebook", "pareto_by_generation", "population_over_time", "hypervolume_trace", "coverage",
           "objective_plane", "incumbent_bands", "parallel_coordinates", "hyperparameter_evolution",
           "label", "live_front", "learning_curves"]

TEMPLATE = "plotly_white"
UNITS = {"n_params": "parameters", "macs": "multiply-accumulates", "train_time": "s", "elapsed": "s",
         "val_error": "fraction", "val_accuracy": "fraction", "val_mse": "MSE", "val_loss": "loss"}


def setup_notebook() -> None:
    """Plotly renderer for notebooks whose HTML must work offline: plotly.js is put in
    the page once, now, and every figure carries its data."""
    import plotly.io as pio
    from plotly.offline import init_notebook_mode

    pio.templates.default = TEMPLATE
    # selects "plotly_mimetype+notebook" and puts plotly.js in the page now, once (plotly
    # would on the first figure shown, which may be LiveFront's raw bundle, drawn before
    # the library is there)
    init_notebook_mode(connected=False)


def label(name: str) -> str:
    """An axis label with units: ``n_params`` -> ``n_params (parameters)``."""
    base = name.removeprefix("values_").removeprefix("metrics_").removeprefix("params_")
    if base.startswith("val_top") and base.endswith("_accuracy"):
        return f"{base} (fraction)"
    return f"{base} ({UNITS[base]})" if base in UNITS else base


def _log_axis(metric: str) -> str:
    return "log" if metric.removeprefix("values_") in ("n_params", "macs") else "linear"


def pareto_by_generation(info: pd.DataFrame, x: str, y: str, title: str = "Pareto front by generation") -> go.Figure:
    """All trials so far and the front as it stood, with a generation slider."""
    data = info.assign(role=np.where(info["on_front"], "front", "dominated"))
    fig = px.scatter(data, x=f"values_{x}", y=f"values_{y}", color="role", animation_frame="front_generation",
                     hover_data=["trial_id", "generation"], color_discrete_map={"front": "#d62728", "dominated": "#9fa9b3"},
                     title=title, labels={f"values_{x}": label(x), f"values_{y}": label(y),
                                          "front_generation": "generation"})
    fig.update_xaxes(type=_log_axis(x))
    fig.update_yaxes(type=_log_axis(y))
    return fig


def population_over_time(info: pd.DataFrame, x: str, y: str) -> go.Figure:
    """The surviving population after each generation, coloured by generation."""
    fig = px.scatter(info, x=f"values_{x}", y=f"values_{y}", color="population_of", hover_data=["trial_id"],
                     color_continuous_scale="Viridis", title="Population over time",
                     labels={f"values_{x}": label(x), f"values_{y}": label(y), "population_of": "generation"})
    fig.update_xaxes(type=_log_axis(x))
    fig.update_yaxes(type=_log_axis(y))
    return fig


def hypervolume_trace(info: pd.DataFrame, title: str = "Hypervolume") -> go.Figure:
    """Hypervolume over evaluations and over wall time, side by side."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("over evaluations", "over wall time"))
    fig.add_trace(go.Scatter(x=info["evaluations"], y=info["hypervolume"], mode="lines", name="by evaluations"), 1, 1)
    fig.add_trace(go.Scatter(x=info["elapsed"], y=info["hypervolume"], mode="lines", name="by time"), 1, 2)
    fig.update_xaxes(title_text="evaluations (trials)", row=1, col=1)
    fig.update_xaxes(title_text="wall time (s)", row=1, col=2)
    fig.update_yaxes(title_text="hypervolume (w.r.t. fixed reference point)")
    fig.update_layout(title=title, showlegend=False, template=TEMPLATE)
    return fig


def coverage(info: pd.DataFrame) -> go.Figure:
    """Trials per bin or choice of every parameter."""
    n = info["parameter"].nunique()
    fig = px.bar(info, x="label", y="count", facet_col="parameter", facet_col_wrap=4, title="Search-space coverage",
                 labels={"count": "trials", "label": ""}, height=max(300, 260 * ((n + 3) // 4)))
    fig.update_xaxes(matches=None, showticklabels=True, tickangle=45)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    return fig


def objective_plane(front: pd.DataFrame, x: str, y: str, others: Mapping[str, Mapping[str, float]] | None = None,
                    all_trials: pd.DataFrame | None = None, title: str = "Found models on the objective plane") -> go.Figure:
    """The final front, all trials faintly, and named reference points: stars where
    both values are known (the default model), dotted lines where only the size is
    (ResNet-18/50, AlexNet parameter counts)."""
    fig = go.Figure()
    if all_trials is not None and len(all_trials):
        fig.add_trace(go.Scatter(x=all_trials[f"values_{x}"], y=all_trials[f"values_{y}"], mode="markers",
                                 marker=dict(color="#c7ccd1", size=6), name="all trials",
                                 text=all_trials["trial_id"].map("trial {}".format)))
    fig.add_trace(go.Scatter(x=front[f"values_{x}"], y=front[f"values_{y}"], mode="lines+markers",
                             line_shape="hv", marker=dict(color="#d62728", size=9), name="Pareto front",
                             text=front["trial_id"].map("trial {}".format)))
    for name, point in (others or {}).items():
        if y in point:
            fig.add_trace(go.Scatter(x=[point[x]], y=[point[y]], mode="markers+text", text=[name],
                                     textposition="top center", marker=dict(symbol="star", size=14), name=name))
        else:  # only its size is known (a reference model not trained on this data)
            fig.add_vline(x=point[x], line_dash="dot", annotation_text=name, annotation_textangle=-90)
    fig.update_layout(title=title, xaxis_title=label(x), yaxis_title=label(y), template=TEMPLATE)
    fig.update_xaxes(type=_log_axis(x))
    fig.update_yaxes(type=_log_axis(y))
    return fig


def incumbent_bands(aggregates: Mapping[str, pd.DataFrame], x: str = "elapsed", metric: str = "val_error",
                    baseline: float | None = None, title: str = "Incumbent over time") -> go.Figure:
    """Median incumbent with its 25-75% band, one colour per method (seed 004, Figure 2)."""
    fig = go.Figure()
    colours = px.colors.qualitative.D3
    for i, (method, agg) in enumerate(aggregates.items()):
        c = colours[i % len(colours)]
        fig.add_trace(go.Scatter(x=np.r_[agg[x], agg[x][::-1]], y=np.r_[agg["q75"], agg["q25"][::-1]], fill="toself",
                                 fillcolor=c, opacity=0.2, line=dict(width=0), name=f"{method} 25-75%", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=agg[x], y=agg["median"], mode="lines", line=dict(color=c), name=f"{method} median"))
    if baseline is not None:
        fig.add_hline(y=baseline, line_dash="dash", annotation_text="baseline")
    fig.update_layout(title=title, xaxis_title="wall time (s)" if x == "elapsed" else "evaluations (trials)",
                      yaxis_title=label(metric), template=TEMPLATE)
    return fig


def parallel_coordinates(df: pd.DataFrame, order: Sequence[str], metric: str, highlight: pd.Series | None = None,
                         title: str = "Parallel coordinates (axes by importance)") -> go.Figure:
    """One line per trial over the parameters in ``order`` (most important first)
    and the metric; ``highlight`` (a boolean mask) colours the better trials."""
    dims = []
    for name in order:
        col = df[f"params_{name}"]
        if col.dtype == object or col.dtype == bool or str(col.dtype) in ("str", "string"):
            cats = sorted(col.dropna().astype(str).unique())
            codes = col.astype(str).map({c: i for i, c in enumerate(cats)})
            dims.append(dict(label=name, values=codes, tickvals=list(range(len(cats))), ticktext=cats))
        else:
            dims.append(dict(label=name, values=col))
    dims.append(dict(label=label(metric), values=df[f"values_{metric}"]))
    colour = highlight.astype(int) if highlight is not None else df[f"values_{metric}"]
    scale = [[0, "#c7ccd1"], [1, "#1f77b4"]] if highlight is not None else "Viridis"
    fig = go.Figure(go.Parcoords(line=dict(color=colour, colorscale=scale), dimensions=dims))
    fig.update_layout(title=title, template=TEMPLATE)
    return fig


def hyperparameter_evolution(info: pd.DataFrame, title: str = "Hyperparameter evolution") -> go.Figure:
    """Each hyperparameter's values per generation (seed 003, Figure 1)."""
    fig = px.strip(info, x="generation", y="value", facet_row="parameter", title=title,
                   height=200 * max(1, info["parameter"].nunique()), labels={"value": ""})
    fig.update_yaxes(matches=None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    return fig


def live_front(front: pd.DataFrame, x: str, y: str, n_trials: int) -> go.Figure:
    """The Pareto front as it stands after ``n_trials`` trials (drawn by
    :class:`nasbench.callbacks.LiveFront` while a study runs)."""
    fig = px.scatter(front, x=f"values_{x}", y=f"values_{y}", hover_data=["trial_id", "generation"],
                     title=f"Live Pareto front after {n_trials} trials",
                     labels={f"values_{x}": label(x), f"values_{y}": label(y)})
    fig.update_xaxes(type=_log_axis(x))
    fig.update_yaxes(type=_log_axis(y))
    return fig


def learning_curves(info: pd.DataFrame, title: str = "Learning curves") -> go.Figure:
    """Validation loss per epoch, one line per trial and fold."""
    data = info.assign(run=info["trial_id"].astype(str) + " / fold " + info["fold"].astype(str))
    return px.line(data, x="epoch", y="val_loss", color="run", title=title,
                   labels={"epoch": "epoch", "val_loss": "validation loss", "run": "trial / fold"})
