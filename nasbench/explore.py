"""Explore a study with ipywidgets: generation slider, objective picker, hover for
a configuration, a trial's learning curve. Works while the study is running
(the store is SQLite in WAL mode: readers never block the writer).

The figures are Plotly ``FigureWidget``s updated in place (no ``Output`` widget:
those hang papermill's client under ipykernel 7 when cleared).
"""

from __future__ import annotations

from . import analysis, plots

__all__ = ["explorer"]


def _hover(df, params) -> list[str]:
    return ["<br>".join([f"trial {t}"] + [f"{p.removeprefix('params_')}: {r[p]}" for p in params if r[p] == r[p]])
            for t, (_, r) in zip(df["trial_id"], df.iterrows())]


def explorer(study):
    """An ipywidgets box over ``study``; "refresh" rereads the store."""
    import ipywidgets as w
    import plotly.graph_objects as go

    metrics = [m.name for m in study.metrics]
    x = w.Dropdown(options=metrics, value=metrics[-1], description="x")
    y = w.Dropdown(options=metrics, value=metrics[0], description="y")
    gen = w.IntSlider(description="generation", min=0, max=0)
    trial = w.Dropdown(description="trial", options=[])
    refresh = w.Button(description="refresh")
    plane = go.FigureWidget(go.Scatter(mode="markers", marker=dict(colorscale="Viridis", showscale=True,
                                                                  colorbar=dict(title="generation")),
                                       hovertemplate="%{text}<extra></extra>"))
    curve = go.FigureWidget(layout=dict(title="Learning curve", xaxis_title="epoch", yaxis_title="validation loss"))
    state: dict = {}

    def draw(*_):
        df = state["df"]
        shown = df[df["generation"] <= gen.value]
        params = [c for c in df.columns if c.startswith("params_")]
        with plane.batch_update():
            plane.data[0].x, plane.data[0].y = shown[f"values_{x.value}"], shown[f"values_{y.value}"]
            plane.data[0].marker.color, plane.data[0].text = shown["generation"], _hover(shown, params)
            plane.layout.title = f"Trials up to generation {gen.value}"
            plane.layout.xaxis.title, plane.layout.yaxis.title = plots.label(x.value), plots.label(y.value)
        curves = analysis.learning_curves(df, [trial.value]) if trial.value is not None else None
        with curve.batch_update():
            curve.data = []
            if curves is not None and len(curves):
                for fold, part in curves.groupby("fold"):
                    curve.add_scatter(x=part["epoch"], y=part["val_loss"], mode="lines", name=f"fold {fold}")
                curve.layout.title = f"Learning curve of trial {trial.value}"

    def reload(*_):
        state["df"] = df = analysis.done_trials(study.trials_dataframe())
        gen.max = int(df["generation"].max()) if len(df) else 0
        gen.value = gen.max
        trial.options = [int(t) for t in df["trial_id"]]
        draw()

    for widget in (x, y, gen, trial):
        widget.observe(draw, names="value")
    refresh.on_click(reload)
    reload()
    return w.VBox([w.HBox([x, y, gen, refresh]), plane, trial, curve])
