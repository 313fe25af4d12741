"""Figures drawn from :mod:`nasbench.analysis` results: Plotly (interactive) and
seaborn (static). Titles, axis labels with units, colour by generation or method.

Call :func:`setup_notebook` once in a notebook: it selects the renderer
``plotly_mimetype+notebook``, which inlines plotly.js once so HTML reports work
offline, and keeps JupyterLab's interactive view. A figure is drawn from the
data it is handed; what watches a running study lives in :mod:`nasbench.callbacks`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from . import analysis

__all__ = ["setup_notebook", "pareto_by_generation", "population_over_time", "hypervolume_trace", "coverage",
           "objective_plane", "incumbent_bands", "parallel_coordinates", "hyperparameter_evolution",
           "label", "live_front", "learning_curves", "importance_bars", "slice_plot", "known_front",
           "pareto_front", "optimization_history", "param_importances", "slice", "trials_by_generation"]

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
    fig.update_coloraxes(**_generation_colours(info["population_of"]))
    fig.update_xaxes(type=_log_axis(x))
    fig.update_yaxes(type=_log_axis(y))
    return fig


def _generation_colours(generations: pd.Series, scale: str = "Viridis") -> dict:
    """A stepped colour scale with one band per generation and integer ticks: a
    generation is a category in order, not a point on a continuum."""
    gens = pd.Series(generations).dropna()
    lo, hi = (int(gens.min()), int(gens.max())) if len(gens) else (0, 0)
    n = hi - lo + 1
    colours = px.colors.sample_colorscale(scale, [i / max(1, n - 1) for i in range(n)])
    steps = [[edge, c] for i, c in enumerate(colours) for edge in (i / n, (i + 1) / n)]
    every = max(1, int(np.ceil(n / 12)))
    return dict(colorscale=steps, cmin=lo - 0.5, cmax=hi + 0.5,
                colorbar=dict(title="generation", tickvals=list(range(lo, hi + 1, every))))


def hypervolume_trace(info: pd.DataFrame, title: str = "Hypervolume") -> go.Figure:
    """Hypervolume over evaluations and over wall time, side by side, as the step
    functions they are; hovering shows the share of the reference box (and of the
    best known). With ``igd_plus`` in ``info`` (a known true front) a second row
    shows IGD+ and IGD."""
    from plotly.subplots import make_subplots

    rows = 2 if "igd_plus" in info else 1
    fig = make_subplots(rows=rows, cols=2, vertical_spacing=0.18,
                        subplot_titles=("over evaluations", "over wall time", *(("IGD+ and IGD",) * (rows - 1))))
    shares = [c for c in ("hypervolume_fraction", "hypervolume_of_best") if c in info]
    words = {"hypervolume_fraction": "of reference box", "hypervolume_of_best": "of best known"}
    hover = "<br>".join(["hypervolume %{y:.4g}"] + [f"%{{customdata[{i}]:.1%}} {words[c]}" for i, c in enumerate(shares)])
    custom = info[shares].to_numpy() if shares else None
    for col, x in ((1, "evaluations"), (2, "elapsed")):
        fig.add_trace(go.Scatter(x=info[x], y=info["hypervolume"], mode="lines", line_shape="hv", customdata=custom,
                                 hovertemplate=hover + "<extra></extra>", name="hypervolume", showlegend=False), 1, col)
    if rows == 2:
        for name, dash in (("igd_plus", "solid"), ("igd", "dot")):
            fig.add_trace(go.Scatter(x=info["evaluations"], y=info[name], mode="lines", line_shape="hv",
                                     line_dash=dash, name=name.replace("_plus", "+").upper()), 2, 1)
        fig.update_yaxes(title_text="distance to true front", type="log", row=2, col=1)
        fig.update_xaxes(title_text="evaluations (trials)", row=2, col=1)
    fig.update_xaxes(title_text="evaluations (trials)", row=1, col=1)
    fig.update_xaxes(title_text="wall time (s)", row=1, col=2)
    fig.update_yaxes(title_text="hypervolume (fixed reference point)", row=1)
    fig.update_layout(title=title + _final_shares(info, shares, words), showlegend=rows == 2, template=TEMPLATE,
                      height=450 * rows)
    return fig


def _final_shares(info: pd.DataFrame, shares: Sequence[str], words: Mapping[str, str]) -> str:
    if info.empty:
        return ""
    last = info.iloc[-1]
    parts = [f"{last['hypervolume']:.4g}"] + [f"{last[c]:.1%} {words[c]}" for c in shares if np.isfinite(last[c])]
    if "igd_plus" in info:
        parts.append(f"IGD+ {last['igd_plus']:.3g}")
    return ": " + ", ".join(parts)


def coverage(info: pd.DataFrame) -> go.Figure:
    """Trials per value, bin or choice of every parameter."""
    n = info["parameter"].nunique()
    rows = (n + 3) // 4
    height = 120 + 300 * rows
    fig = px.bar(info, x="label", y="count", facet_col="parameter", facet_col_wrap=4, title="Search-space coverage",
                 labels={"count": "trials", "label": ""}, height=height,
                 facet_row_spacing=min(0.9 / max(1, rows - 1), 130 / height), facet_col_spacing=0.06)
    fig.update_xaxes(matches=None, showticklabels=True, tickangle=45, type="category", automargin=True)
    fig.for_each_annotation(lambda a: a.update(text=f"<b>{a.text.split('=')[-1]}</b>", yshift=4))
    return fig


def objective_plane(front: pd.DataFrame, x: str, y: str, others: Mapping[str, Mapping[str, float]] | None = None,
                    all_trials: pd.DataFrame | None = None, title: str = "Found models on the objective plane", *,
                    true_front: np.ndarray | None = None) -> go.Figure:
    """The final front, all trials faintly, and named reference points: stars where
    both values are known (the default model), dotted lines where only the size is
    (ResNet-18/50, AlexNet parameter counts). ``true_front``: points of a known front
    (ZDT, DTLZ; columns in the order of x, y) drawn as a line."""
    fig = go.Figure()
    if true_front is not None and len(true_front):
        tf = np.asarray(true_front, dtype=float)
        tf = tf[np.argsort(tf[:, 0])]
        fig.add_trace(go.Scatter(x=tf[:, 0], y=tf[:, 1], mode="markers" if len(tf) > 3000 else "lines",
                                 line=dict(color="#2ca02c", width=2), marker=dict(color="#2ca02c", size=2),
                                 name="true Pareto front", hoverinfo="skip"))
    if all_trials is not None and len(all_trials):
        fig.add_trace(go.Scatter(x=all_trials[f"values_{x}"], y=all_trials[f"values_{y}"], mode="markers",
                                 marker=dict(color="#c7ccd1", size=6), name="all trials",
                                 text=all_trials["trial_id"].map("trial {}".format)))
    fig.add_trace(go.Scatter(x=front[f"values_{x}"], y=front[f"values_{y}"], mode="lines+markers",
                             line_shape="hv" if len(front) > 1 else None, marker=dict(color="#d62728", size=9), name="Pareto front",
                             text=front["trial_id"].map("trial {}".format)))
    for name, point in (others or {}).items():
        if y in point:
            fig.add_trace(go.Scatter(x=[point[x]], y=[point[y]], mode="markers+text", text=[name],
                                     textposition="top center", marker=dict(symbol="star", size=14), name=name))
        else:  # only its size is known (a reference model not trained on this data)
            fig.add_vline(x=point[x], line_dash="dot", annotation_text=name, annotation_textangle=-90,
                          annotation_position="bottom right", annotation_yanchor="bottom")
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
                         title: str = "Parallel coordinates (axes by importance)", *, space: Any = None,
                         highlight_name: str = "better than baseline") -> go.Figure:
    """One line per trial over the parameters in ``order`` (most important first)
    and the metric; ``highlight`` (a boolean mask) draws those trials in blue, the
    rest in grey. Log-scaled parameters (from ``space``; without it, positive ones
    spanning over two decades) get log axes labelled in their own units, integer
    ones whole-number ticks."""
    logs, ints = _scales(df, order, space)
    if highlight is not None:  # highlighted lines last, so they are drawn on top
        mask = np.asarray(highlight, dtype=bool)
        order_ = np.argsort(mask, kind="stable")
        df, highlight = df.iloc[order_], pd.Series(mask[order_])
    dims = [_dimension(df[f"params_{name}"], name, name in logs, name in ints) for name in order]
    dims.append(dict(label=label(metric), values=df[f"values_{metric}"]))
    if highlight is not None:
        n = int(highlight.sum())
        line = dict(color=highlight.astype(int).to_numpy(), colorscale=[[0, "#c7ccd1"], [1, "#1f77b4"]], cmin=0, cmax=1)
        title = f"{title}<br><sup>blue: the {n} of {len(highlight)} trials {highlight_name}; grey: the others</sup>"
    else:
        line = dict(color=df[f"values_{metric}"], colorscale="Viridis", showscale=True,
                    colorbar=dict(title=label(metric)))
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims, labelangle=-25, labelside="top",
                                 labelfont=dict(size=11), tickfont=dict(size=10)))
    fig.update_layout(title=title, template=TEMPLATE, margin=dict(t=150, l=60, r=60), height=560)
    return fig


def _scales(df: pd.DataFrame, order: Sequence[str], space: Any) -> tuple[set, set]:
    from .space import Integer

    if space is not None:
        by_name = {p.name: p for p in space}
        logs = {n for n in order if getattr(by_name.get(n), "log", False)}
        return logs, {n for n in order if isinstance(by_name.get(n), Integer)}
    logs, ints = set(), set()
    for n in order:
        col = df[f"params_{n}"]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col) and col.notna().any():
            v = col.dropna().to_numpy(dtype=float)
            if v.min() > 0 and v.max() / v.min() > 100:
                logs.add(n)
            if pd.api.types.is_integer_dtype(col) or np.all(np.mod(v, 1) == 0):
                ints.add(n)
    return logs, ints


def _dimension(col: pd.Series, name: str, log: bool, integer: bool) -> dict:
    """One parcoords axis: categories as coded ticks, log values as log10 with ticks
    in the parameter's units, integers with whole-number ticks."""
    if col.dtype == object or col.dtype == bool or str(col.dtype) in ("str", "string", "category"):
        cats = sorted(col.dropna().astype(str).unique())
        codes = col.astype(str).map({c: i for i, c in enumerate(cats)})
        return dict(label=name, values=codes, tickvals=list(range(len(cats))), ticktext=cats)
    v = col.to_numpy(dtype=float)
    present = v[np.isfinite(v)]
    if not len(present):
        return dict(label=name, values=v)
    lo, hi = present.min(), present.max()
    if log:
        ticks = [t for t in _log_ticks(lo, hi)]
        return dict(label=f"{name} (log)", values=np.log10(v), range=[np.log10(lo), np.log10(hi)] if hi > lo else None,
                    tickvals=np.log10(ticks).tolist(), ticktext=[f"{t:g}" for t in ticks])
    if integer:
        step = max(1, int(np.ceil((hi - lo) / 8)))
        ticks = list(range(int(lo), int(hi) + 1, step))
        return dict(label=name, values=v, tickvals=ticks, ticktext=[str(t) for t in ticks])
    return dict(label=name, values=v)


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks per decade inside [lo, hi] (decades only when the span is wide)."""
    mantissas = (1, 2, 5) if np.log10(hi / lo) < 2 else (1,)
    ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
             for m in mantissas]
    inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    return inside or [lo, hi]


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
    """Validation loss per epoch, one line per trial and fold (an empty figure that
    says so when no trial stored any, e.g. a synthetic ZDT problem)."""
    if info.empty or "trial_id" not in info:
        fig = go.Figure(layout=dict(title=f"{title}: none stored (only training objectives record them)",
                                    xaxis_title="epoch", yaxis_title="validation loss", template=TEMPLATE))
        return fig
    data = info.assign(run=info["trial_id"].astype(str) + " / fold " + info["fold"].astype(str))
    return px.line(data, x="epoch", y="val_loss", color="run", title=title,
                   labels={"epoch": "epoch", "val_loss": "validation loss", "run": "trial / fold"})


def importance_bars(importance: pd.Series, metric: str, title: str | None = None) -> go.Figure:
    """Horizontal bars of parameter importance (largest on top), as Optuna draws them."""
    imp = importance.sort_values()
    fig = go.Figure(go.Bar(x=imp.to_numpy(), y=list(imp.index), orientation="h", marker_color="#1f77b4",
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title=title or f"Hyperparameter importance for {metric}", xaxis_title="importance (sums to 1)",
                      template=TEMPLATE, height=max(300, 60 + 28 * len(imp)))
    return fig


def slice_plot(info: pd.DataFrame, metric: str, space: Any = None, title: str = "Slice plot") -> go.Figure:
    """The metric against each parameter's value, one panel a parameter, coloured by
    generation (Optuna's ``plot_slice``); log parameters on log axes."""
    from plotly.subplots import make_subplots

    names = list(dict.fromkeys(info["parameter"]))
    cols = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, shared_yaxes=True,
                        vertical_spacing=min(0.25, 0.9 / max(1, rows - 1)) if rows > 1 else 0.1)
    logs = {p.name for p in space if getattr(p, "log", False)} if space is not None else set()
    gens = info["generation"] if len(info) else pd.Series([0])
    for i, name in enumerate(names):
        part = info[info["parameter"] == name]
        r, c = i // cols + 1, i % cols + 1
        x = part["value"].astype(str) if part["value"].dtype == object or part["value"].dtype == bool else part["value"]
        fig.add_trace(go.Scatter(x=x, y=part["objective"], mode="markers", showlegend=False,
                                 text=part["trial_id"].map("trial {}".format),
                                 marker=dict(color=part["generation"], coloraxis="coloraxis", size=6)), r, c)
        if name in logs:
            fig.update_xaxes(type="log", row=r, col=c)
    fig.update_yaxes(title_text=label(metric), col=1)
    fig.update_layout(title=title, template=TEMPLATE, height=120 + 280 * rows,
                      coloraxis=_generation_colours(gens))
    return fig


# --- one-call figures from a study, as Optuna users expect ------------------------------------------------
def _table(study) -> tuple[pd.DataFrame, dict[str, str]]:
    return study.trials_dataframe(), {m.name: m.direction for m in study.metrics}


def known_front(study) -> np.ndarray | None:
    """The true Pareto front of a study's synthetic problem (ZDT, DTLZ), in its metrics'
    order, or None for an objective without one (training, learning curves)."""
    from .objectives import objective_from_spec

    spec = study.settings.objective
    if not isinstance(spec, Mapping) or "problem" not in spec:
        return None
    try:
        return np.asarray(objective_from_spec(spec).pareto_front(), dtype=float)
    except (NotImplementedError, ValueError, KeyError, TypeError):
        return None


def _pick(study, name: str | None, which: int) -> str:
    names = [m.name for m in study.metrics]
    if name is None:
        return names[which]
    if name not in names:
        raise ValueError(f"the study has no metric {name!r}; it has {names}")
    return name


def pareto_front(study, x: str | None = None, y: str | None = None, *, true_front: bool = True) -> go.Figure:
    """The study's Pareto front over all its trials (Optuna's ``plot_pareto_front``):
    :func:`nasbench.analysis.final_front` drawn by :func:`objective_plane`, with the
    true front of a ZDT/DTLZ problem and IGD+ in the title. Defaults: x the last
    metric, y the first."""
    df, directions = _table(study)
    x, y = _pick(study, x, -1), _pick(study, y, 0)
    front = known_front(study) if true_front else None
    names = list(directions)
    shown = None if front is None else front[:, [names.index(x), names.index(y)]]
    fig = objective_plane(analysis.final_front(df, directions), x, y, all_trials=analysis.done_trials(df), true_front=shown,
                          title="Pareto front")
    if front is not None and len(analysis.done_trials(df)):
        score = analysis.igd(df, directions, front)
        fig.update_layout(title=f"Pareto front: IGD+ {score['igd_plus']:.3g}, IGD {score['igd']:.3g} "
                                "against the true front")
    return fig


def optimization_history(study, metric: str | None = None) -> go.Figure:
    """Each trial's ``metric`` (default: the first) and the best so far, in the order
    trials finished (Optuna's ``plot_optimization_history``):
    :func:`nasbench.analysis.optimization_history` drawn here."""
    df, directions = _table(study)
    metric = _pick(study, metric, 0)
    info = analysis.optimization_history(df, metric, directions[metric])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=info["evaluations"], y=info["value"], mode="markers", name="trial",
                             text=info["trial_id"].map("trial {}".format),
                             marker=dict(color=info["generation"], coloraxis="coloraxis", size=6)))
    fig.add_trace(go.Scatter(x=info["evaluations"], y=info["incumbent"], mode="lines", line_shape="hv",
                             line=dict(color="#d62728"), name="best so far"))
    fig.update_layout(title=f"Optimization history of {metric} ({directions[metric]})", template=TEMPLATE,
                      xaxis_title="evaluations (trials)", yaxis_title=label(metric),
                      coloraxis=_generation_colours(info["generation"] if len(info) else pd.Series([0])),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    fig.update_yaxes(type=_log_axis(metric))
    return fig


def param_importances(study, objective: str | None = None, *, method: str = "fanova", seed: int = 0) -> go.Figure:
    """Importance of each parameter for one metric (``objective``: its name; default the
    first), Optuna's ``plot_param_importances``: :func:`nasbench.analysis.importance`
    drawn by :func:`importance_bars`."""
    df, directions = _table(study)
    metric = _pick(study, objective, 0)
    done = analysis.done_trials(df)
    if len(done) < 2:
        raise ValueError(f"importance needs at least 2 done trials, the study has {len(done)}; run it longer first")
    imp = analysis.importance(done, study.space, metric, directions[metric], method, seed=seed)
    return importance_bars(imp, metric)


def slice(study, params: Sequence[str] | None = None, metric: str | None = None) -> go.Figure:  # noqa: A001 (Optuna's name)
    """``metric`` (default: the first) against each parameter in ``params`` (default:
    all), Optuna's ``plot_slice``: :func:`nasbench.analysis.slice_table` drawn by
    :func:`slice_plot`."""
    df, _ = _table(study)
    metric = _pick(study, metric, 0)
    return slice_plot(analysis.slice_table(df, study.space, metric, params), metric, study.space,
                      title=f"Slice plot of {metric}")


# --- seed 004: incumbents against a baseline, parallel coordinates over a space ----------------------------
def incumbent_band_panels(panels: Mapping[str, Mapping[str, pd.DataFrame]], metric: str = "val_error",
                          baseline: Sequence[float] | None = None,
                          title: str = "Incumbent over wall time and over epochs") -> go.Figure:
    """Median incumbent and its 25-75 % band per method, one panel per x (``"elapsed"``,
    ``"epochs"`` or ``"evaluations"``: :func:`nasbench.analysis.incumbent_quartiles`),
    drawn as steps (an incumbent changes only when a trial ends). ``baseline`` is
    (q25, median, q75) of the baseline's ``metric`` over seeds: a dashed line and a grey band."""
    from plotly.subplots import make_subplots

    names = {"elapsed": "wall time (s)", "epochs": "epochs trained (all trials of a run)",
             "evaluations": "evaluations (trials)"}
    xs = list(panels)
    fig = make_subplots(rows=1, cols=len(xs), shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=[f"over {names[x].split(' (')[0]}" for x in xs])
    colours = px.colors.qualitative.D3
    for col, x in enumerate(xs, start=1):
        for i, (method, agg) in enumerate(panels[x].items()):
            c = colours[i % len(colours)]
            fig.add_trace(go.Scatter(x=agg[x], y=agg["q75"], mode="lines", line=dict(width=0, shape="hv"),
                                     showlegend=False, hoverinfo="skip", legendgroup=method), 1, col)
            fig.add_trace(go.Scatter(x=agg[x], y=agg["q25"], mode="lines", line=dict(width=0, shape="hv"),
                                     fill="tonexty", fillcolor=_transparent(c), name=f"{method} 25-75 %",
                                     legendgroup=method, showlegend=col == 1, hoverinfo="skip"), 1, col)
            fig.add_trace(go.Scatter(x=agg[x], y=agg["median"], mode="lines", line=dict(color=c, shape="hv"),
                                     name=f"{method} median", legendgroup=method, showlegend=col == 1), 1, col)
        if baseline is not None:
            lo, mid, hi = (float(v) for v in baseline)
            fig.add_hrect(y0=lo, y1=hi, fillcolor="#7f7f7f", opacity=0.15, line_width=0, row=1, col=col)
            # every panel labels its line: an annotation_position without a text reads "new text"
            fig.add_hline(y=mid, line_dash="dash", line_color="#444", row=1, col=col,
                          annotation_text="baseline median", annotation_position="top left")
        fig.update_xaxes(title_text=names[x], row=1, col=col)
    fig.update_yaxes(title_text=label(metric), row=1, col=1)
    fig.update_layout(title=title, template=TEMPLATE, legend=dict(orientation="h", y=-0.25))
    return fig


def _transparent(colour: str, alpha: float = 0.2) -> str:
    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _parcoords_dimension(p, col: pd.Series) -> dict:
    """One axis of :func:`parallel_coordinates_space`: categorical choices in the space's
    order, log parameters on a log10 axis with ticks at round values, integers with
    integer ticks only; inactive values (NaN) on an extra ``n/a`` tick below the range."""
    from .space import Boolean, Categorical

    if isinstance(p, (Categorical, Boolean)):
        choices = list(p.choices) if isinstance(p, Categorical) else [False, True]
        index = {str(c): i for i, c in enumerate(choices)}
        values = col.map(lambda v: np.nan if pd.isna(v) else index.get(str(v), np.nan)).astype(float)
        ticks, text, lo, hi = list(range(len(choices))), [str(c) for c in choices], 0.0, len(choices) - 1.0
    elif p.log:
        lo, hi = np.log10(p.low), np.log10(p.high)
        values = np.log10(col.astype(float))
        if p.kind == "int":
            raw = sorted({int(p.low), int(p.high), *(2 ** k for k in range(0, 31) if p.low <= 2 ** k <= p.high)})
        else:
            raw = [m * 10.0 ** e for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in (1, 3)
                   if p.low <= m * 10.0 ** e <= p.high * (1 + 1e-9)]
        ticks, text = [float(np.log10(v)) for v in raw], [f"{v:g}" for v in raw]
    else:
        lo, hi = float(p.low), float(p.high)
        values = col.astype(float)
        if p.kind == "int":
            step = max(1, int(np.ceil((hi - lo) / 8)))
            raw = list(range(int(lo), int(hi) + 1, step))
            ticks, text = [float(v) for v in raw], [str(v) for v in raw]
        else:
            ticks = text = None
    if values.isna().any():  # inactive in some trials
        na = lo - 0.15 * max(hi - lo, 1.0)
        values = values.fillna(na)
        if ticks is None:
            ticks = list(np.linspace(lo, hi, 5))
            text = [f"{v:.3g}" for v in ticks]
        ticks, text, lo = [na, *ticks], ["n/a", *text], na
    dim = dict(label=p.name, values=values.to_numpy(), range=[lo, hi])
    if ticks is not None:
        dim.update(tickvals=ticks, ticktext=text)
    return dim


def parallel_coordinates_space(df: pd.DataFrame, space, order: Sequence[str], metric: str,
                               highlight: pd.Series | None = None, highlight_name: str = "better than the baseline",
                               title: str = "Parallel coordinates (axes by importance, most important left)") -> go.Figure:
    """One line per trial over the parameters in ``order`` and the metric, each axis
    drawn as the space defines it (:func:`_parcoords_dimension`). ``highlight`` (a boolean
    mask over ``df``'s rows) draws those trials blue, on top, and the rest grey; the
    colour scale is pinned to [0, 1], so all-grey means none is highlighted. Without
    ``highlight`` lines are coloured by the metric."""
    by_name = {p.name: p for p in space}
    unknown = [n for n in order if n not in by_name]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not a parameter of the space; order the space's own parameter names")
    data = df.reset_index(drop=True)
    mask = None if highlight is None else pd.Series(np.asarray(highlight, dtype=bool))
    if mask is not None:  # highlighted lines last, so they are drawn over the grey ones
        order_rows = np.argsort(mask.to_numpy(), kind="stable")
        data, mask = data.iloc[order_rows].reset_index(drop=True), mask.iloc[order_rows].reset_index(drop=True)
    dims = [_parcoords_dimension(by_name[n], data[f"params_{n}"]) for n in order]
    dims.append(dict(label=label(metric), values=data[f"values_{metric}"].to_numpy(dtype=float)))
    if mask is not None:
        line = dict(color=mask.astype(int).to_numpy(), colorscale=[[0, "#c7ccd1"], [1, "#1f77b4"]], cmin=0, cmax=1,
                    showscale=False)
    else:
        line = dict(color=data[f"values_{metric}"], colorscale="Viridis", showscale=True,
                    colorbar=dict(title=label(metric)))
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims, labelangle=-30, labelside="top",
                                 labelfont=dict(size=12), tickfont=dict(size=10)))
    if mask is not None:
        n = int(mask.sum())
        title = f"{title}<br><sup>blue: {n} of {len(mask)} trials {highlight_name}; grey: the rest</sup>"
    fig.update_layout(title=title, template=TEMPLATE, height=560, margin=dict(t=170, l=60, r=60, b=40))
    return fig


def importance_by_objective(table: pd.DataFrame, title: str = "Hyperparameter importance per objective") -> go.Figure:
    """Grouped bars of :func:`nasbench.analysis.importances` (one column per objective),
    parameters sorted by their mean importance."""
    data = table.fillna(0.0)
    data = data.loc[data.mean(axis=1).sort_values(ascending=False).index]
    long = data.rename_axis("parameter").reset_index().melt(id_vars="parameter", var_name="objective",
                                                            value_name="importance")
    fig = px.bar(long, x="parameter", y="importance", color="objective", barmode="group", title=title,
                 labels={"importance": "importance (fANOVA, sums to 1 per objective)"})
    fig.update_layout(template=TEMPLATE, xaxis_tickangle=-30)
    return fig


__all__ += ["incumbent_band_panels", "parallel_coordinates_space", "importance_by_objective"]


# --- seed 003 (appended by helper h7) ----------------------------------------------------------------
def convergence_steps(curves: Mapping[str, pd.DataFrame], metric: str, title: str = "Best so far over evaluations",
                      *, log_y: bool = True) -> go.Figure:
    """Every method on one axis: the median over seeds of the best value so far, with
    its 25-75 % band, as step functions (the best so far only changes at an
    evaluation); ``curves`` as from :func:`nasbench.analysis.convergence_over_seeds`."""
    fig = go.Figure()
    colours = px.colors.qualitative.D3
    for i, (method, c) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        n = int(c["runs"].max()) if len(c) else 0
        fig.add_trace(go.Scatter(x=c["evaluations"], y=c["q75"], mode="lines", line=dict(width=0, shape="hv"),
                                 showlegend=False, hoverinfo="skip", legendgroup=method))
        fig.add_trace(go.Scatter(x=c["evaluations"], y=c["q25"], mode="lines", line=dict(width=0, shape="hv"),
                                 fill="tonexty", fillcolor=_rgba(colour, 0.2), name=f"{method} 25-75 %",
                                 hoverinfo="skip", legendgroup=method))
        fig.add_trace(go.Scatter(x=c["evaluations"], y=c["median"], mode="lines", line=dict(color=colour, shape="hv"),
                                 name=f"{method} median ({n} seeds)", legendgroup=method))
    fig.update_layout(title=title, xaxis_title="evaluations (trials)", yaxis_title=f"best {label(metric)} so far",
                      template=TEMPLATE)
    fig.update_yaxes(type="log" if log_y else "linear")
    return fig


def _rgba(colour: str, opacity: float) -> str:
    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{opacity})"


def hyperparameter_evolution_named(info: pd.DataFrame, title: str = "Hyperparameter evolution") -> go.Figure:
    """Seed 003, Figure 1: one row per hyperparameter (categorical ones on an axis of
    their names, in the space's order; integers with whole-number ticks), the metric
    last on a log axis; each point a trial, by generation. ``info`` as from
    :func:`nasbench.analysis.hyperparameter_evolution_named`."""
    from plotly.subplots import make_subplots

    names = list(dict.fromkeys(info["parameter"]))
    categories, metric = info.attrs.get("categories", {}), info.attrs.get("metric")
    fig = make_subplots(rows=max(1, len(names)), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[label(n) if n == metric else n for n in names])
    rng = np.random.default_rng(0)  # a fixed horizontal jitter, so overlapping trials show
    for row, name in enumerate(names, start=1):
        part = info[info["parameter"] == name]
        x = part["generation"].to_numpy(dtype=float) + rng.uniform(-0.2, 0.2, len(part))
        fig.add_trace(go.Scatter(x=x, y=part["value"].tolist(), mode="markers", showlegend=False, name=name,
                                 marker=dict(size=6, opacity=0.7, color="#1f77b4"),
                                 customdata=part["trial_id"], hovertemplate="trial %{customdata}: %{y}<extra></extra>"),
                      row=row, col=1)
        if name in categories:
            fig.update_yaxes(type="category", categoryorder="array", categoryarray=categories[name], row=row, col=1)
        elif name == metric:
            fig.update_yaxes(type="log", row=row, col=1)
        elif len(part) and all(float(v).is_integer() for v in part["value"]):
            fig.update_yaxes(tickformat="d", row=row, col=1)
    fig.update_xaxes(title_text="generation", dtick=1, row=max(1, len(names)), col=1)
    fig.update_layout(title=title, template=TEMPLATE, height=170 * max(1, len(names)) + 80)
    return fig

__all__ += ["convergence_steps", "hyperparameter_evolution_named"]


def trials_by_generation(trials: pd.DataFrame, x: str, y: str, front: pd.DataFrame | None = None,
                         title: str = "All trials by generation") -> go.Figure:
    """Every done trial on the (x, y) plane coloured by generation (discrete bands),
    hover showing its configuration; ``front`` drawn on top. The static view of
    :func:`nasbench.explore.explorer`."""
    params = [c for c in trials.columns if c.startswith("params_")]
    text = ["<br>".join([f"trial {t}"] + [f"{p.removeprefix('params_')}: {r[p]}" for p in params if r[p] == r[p]])
            for t, (_, r) in zip(trials["trial_id"], trials.iterrows())]
    fig = go.Figure(go.Scatter(x=trials[f"values_{x}"], y=trials[f"values_{y}"], mode="markers", text=text,
                               hovertemplate="%{text}<extra></extra>", name="trials",
                               marker=dict(color=trials["generation"], coloraxis="coloraxis", size=7)))
    if front is not None and len(front):
        fig.add_trace(go.Scatter(x=front[f"values_{x}"], y=front[f"values_{y}"], mode="lines", line_shape="hv",
                                 line=dict(color="#d62728"), name="Pareto front", hoverinfo="skip"))
    fig.update_layout(title=title, xaxis_title=label(x), yaxis_title=label(y), template=TEMPLATE,
                      coloraxis=_generation_colours(trials["generation"] if len(trials) else pd.Series([0])),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    fig.update_xaxes(type=_log_axis(x))
    fig.update_yaxes(type=_log_axis(y))
    return fig


# --- seed 000: methods and reference networks (appended by helper h6) ---------------------------------
def hypervolume_by_method(traces: Mapping[str, pd.DataFrame], title: str = "Hypervolume by method") -> go.Figure:
    """Each method's share of the fixed reference box over evaluations, as the step
    functions they are; ``traces`` from :func:`nasbench.analysis.hypervolume_traces`."""
    fig = go.Figure()
    for name, info in traces.items():
        fig.add_trace(go.Scatter(x=info["evaluations"], y=info["hypervolume_fraction"], mode="lines",
                                 line_shape="hv", name=name, customdata=info["hypervolume"],
                                 hovertemplate="%{y:.2%} of the reference box<br>hypervolume %{customdata:.4g}"
                                               "<extra>" + name + "</extra>"))
    fig.update_layout(title=title, xaxis_title="evaluations (trials)", yaxis_title="share of the reference box",
                      template=TEMPLATE, yaxis_tickformat=".1%")
    return fig


def labelled_objective_plane(front: pd.DataFrame, x: str, y: str, points: Mapping[str, Mapping[str, float]],
                             all_trials: pd.DataFrame | None = None,
                             title: str = "Found models and reference networks") -> go.Figure:
    """:func:`objective_plane` with named points whose labels stay inside the canvas: each
    label sits on the side of its point that faces the middle of the plot, and the axes
    span the trials and the points with a margin."""
    fig = objective_plane(front, x, y, points, all_trials, title)
    frames = [front] + ([all_trials] if all_trials is not None else [])
    xs = np.concatenate([f[f"values_{x}"].to_numpy(float) for f in frames] + [[p[x] for p in points.values()]])
    ys = np.concatenate([f[f"values_{y}"].to_numpy(float) for f in frames] + [[p[y] for p in points.values() if y in p]])
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    log_x = _log_axis(x) == "log"
    lo, hi = (np.log10(xs.min()), np.log10(xs.max())) if log_x else (xs.min(), xs.max())
    pad, ypad = 0.08 * ((hi - lo) or 1.0), 0.08 * ((ys.max() - ys.min()) or 1.0)
    fig.update_xaxes(range=[lo - pad, hi + pad])
    fig.update_yaxes(range=[ys.min() - ypad, ys.max() + 2 * ypad])
    middle_x, middle_y = (lo + hi) / 2, (ys.min() + ys.max()) / 2
    for trace in fig.data:
        if trace.name in points and y in points[trace.name]:
            px_ = np.log10(points[trace.name][x]) if log_x else points[trace.name][x]
            vertical = "bottom" if points[trace.name][y] > middle_y else "top"
            trace.textposition = f"{vertical} {'left' if px_ > middle_x else 'right'}"
    return fig


__all__ += ["hypervolume_by_method", "labelled_objective_plane"]
