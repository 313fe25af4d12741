"""Explore a study with ipywidgets: generation slider, objective picker, hover for
a configuration, a trial's learning curve. Works while the study is running
(the store is SQLite in WAL mode: readers never block the writer), and on any
study: a training study, a CLI ``nasbench run zdt1`` study, one without learning
curves or generations.

The figures are Plotly ``FigureWidget``s updated in place (no ``Output`` widget:
those hang papermill's client under ipykernel 7 when cleared). A rendered report
has no kernel to drive the widgets, so :class:`Explorer` also offers a static
view (:func:`nasbench.plots.trials_by_generation` of all trials and the front),
which nbconvert shows in its place.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from . import analysis, plots

__all__ = ["explorer", "Explorer", "summary_table", "hypervolume_figure"]


class Explorer:
    """The explorer's widget box, displayed as the live widget in JupyterLab and as a
    static Plotly figure where no kernel drives it (an HTML report)."""

    def __init__(self, widget: Any, static: Any) -> None:
        self.widget, self._static = widget, static

    def static_figure(self):
        """All trials by generation and the current front, as the widgets last showed them."""
        return self._static()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        import plotly.io as pio

        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        note = ("<p><em>The interactive explorer needs a live kernel (open the notebook in JupyterLab); "
                "below, all trials and the front as they stood.</em></p>")
        # plotly.js is in the page already (plots.setup_notebook)
        bundle["text/html"] = note + pio.to_html(self.static_figure(), include_plotlyjs=False, full_html=False)
        bundle["text/plain"] = "Study explorer (widgets; needs a live kernel)"
        return bundle


def explorer(study) -> Explorer:
    """An ipywidgets box over ``study``; "refresh" rereads the store."""
    import ipywidgets as w
    import plotly.graph_objects as go

    metrics = [m.name for m in study.metrics]
    x = w.Dropdown(options=metrics, value=metrics[-1], description="x")
    y = w.Dropdown(options=metrics, value=metrics[0], description="y")
    gen = w.IntSlider(description="generation", min=0, max=0)
    trial = w.Dropdown(description="trial", options=[])
    refresh = w.Button(description="refresh")
    plane = go.FigureWidget(go.Scatter(mode="markers", marker=dict(coloraxis="coloraxis"),
                                       hovertemplate="%{text}<extra></extra>"))
    curve = go.FigureWidget(layout=dict(title="Learning curve", xaxis_title="epoch", yaxis_title="validation loss"))
    state: dict = {}

    def draw(*_):
        df = state["df"]
        shown = df[df["generation"] <= gen.value]
        static = plots.trials_by_generation(shown, x.value, y.value)
        with plane.batch_update():
            plane.data[0].x, plane.data[0].y = shown[f"values_{x.value}"], shown[f"values_{y.value}"]
            plane.data[0].marker.color, plane.data[0].text = shown["generation"], static.data[0].text
            plane.layout.coloraxis = static.layout.coloraxis
            plane.layout.title = f"Trials up to generation {gen.value}"
            plane.layout.xaxis.title, plane.layout.yaxis.title = plots.label(x.value), plots.label(y.value)
            plane.layout.xaxis.type, plane.layout.yaxis.type = static.layout.xaxis.type, static.layout.yaxis.type
        curves = analysis.learning_curves(df, [trial.value]) if trial.value is not None else None
        with curve.batch_update():
            curve.data = []
            if curves is not None and len(curves):
                for fold, part in curves.groupby("fold"):
                    curve.add_scatter(x=part["epoch"], y=part["val_loss"], mode="lines", name=f"fold {fold}")
                curve.layout.title = f"Learning curve of trial {trial.value}"
            else:
                curve.layout.title = "Learning curve: none stored for this trial"

    def reload(*_):
        state["df"] = df = analysis.done_trials(study.trials_dataframe())
        gen.max = int(df["generation"].max()) if len(df) else 0
        gen.value = gen.max
        trial.options = [int(t) for t in df["trial_id"]]
        draw()

    def static():
        directions = {m.name: m.direction for m in study.metrics}
        shown = state["df"][state["df"]["generation"] <= gen.value]
        front = analysis.final_front(shown, directions) if len(shown) else None
        return plots.trials_by_generation(shown, x.value, y.value, front,
                                          title=f"All trials up to generation {gen.value}, and their front")

    for widget in (x, y, gen, trial):
        widget.observe(draw, names="value")
    refresh.on_click(reload)
    reload()
    return Explorer(w.VBox([w.HBox([x, y, gen, refresh]), plane, trial, curve]), static)


def summary_table(study) -> pd.DataFrame:
    """:meth:`Study.summary` as a two-column table a reader can scan: objective,
    metrics, optimiser, trial counts, front size, and the hypervolume raw and as a
    share of the reference box (and of the true front's, with IGD+, on ZDT/DTLZ)."""
    s = study.summary()
    rows = [("directory", s["directory"]), ("objective", _objective_text(s["objective"])),
            ("metrics", ", ".join(f"{m} ({d})" for m, d in s["metrics"].items())),
            ("optimizer", s["optimizer"]), ("seed", s["seed"]),
            ("trials", ", ".join(f"{n} {k}" for k, n in s["trials"].items() if n) or "none yet"),
            ("generation", "–" if s["generation"] is None else s["generation"]),
            ("Pareto front", f"{len(s['pareto_front'])} trials"),
            ("reference point", "–" if s["reference_point"] is None else ", ".join(f"{v:g}" for v in s["reference_point"]))]
    rows += _hypervolume_rows(study, s)
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


def _objective_text(spec: Any) -> str:
    """``zdt1 (n_var=30)``, ``training on digits, space seed000``, ``module.function``."""
    if not isinstance(spec, dict) or not spec:
        return "a function given when the study was opened (not stored)"
    if "problem" in spec:
        params = ", ".join(f"{k}={v}" for k, v in (spec.get("params") or {}).items())
        return f"{spec['problem']} ({params})" if params else str(spec["problem"])
    if "training" in spec:
        t = spec["training"]
        space = t.get("space") if isinstance(t.get("space"), str) else "a custom space"
        return f"training on {t.get('dataset')}, space {space}, {t.get('folds')}-fold" if t.get("folds") else \
            f"training on {t.get('dataset')}, space {space}"
    return str(spec.get("callable", spec))


def _hypervolume_rows(study, s: dict) -> list[tuple[str, Any]]:
    if s["reference_point"] is None or not s["trials"].get("done"):
        return [("hypervolume", "–")]
    true = plots.known_front(study)
    table = analysis.hypervolume_summary(study.trials_dataframe(), s["metrics"], s["reference_point"], true_front=true)
    rows = [("hypervolume", f"{s['hypervolume']:.4g}"),
            ("hypervolume / reference box", _share(table, "share of reference box"))]
    if true is not None:
        rows += [("hypervolume / true front's", _share(table, "share of best known")),
                 ("IGD+ / IGD to the true front", f"{table['igd_plus'].iloc[0]:.4g} / {table['igd'].iloc[0]:.4g}")]
    if s["dominating_reference"] == 0:
        rows.append(("note", "no trial dominates the reference point yet, so the hypervolume is 0"))
    return rows


def _share(table: pd.DataFrame, column: str) -> str:
    value = float(table[column].iloc[0]) if column in table else float("nan")
    return "–" if value != value else f"{value:.1%}"


def hypervolume_figure(study):
    """The study's hypervolume trace (with IGD+ on ZDT/DTLZ), or ``None`` for a study
    without a reference point."""
    if study.reference_point is None:
        return None
    directions = {m.name: m.direction for m in study.metrics}
    info = analysis.hypervolume_trace(study.trials_dataframe(), directions, study.reference_point,
                                      true_front=plots.known_front(study))
    return plots.hypervolume_trace(info)
