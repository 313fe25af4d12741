"""What watches a running study: a progress bar and (in notebooks) a live Pareto front.

A callback is called as ``callback(study, trial)`` after each trial is recorded
(``trial`` is the :class:`~nasbench.store.TrialRecord`), as Optuna's are. Figures
are drawn by :mod:`nasbench.plots` from data the callback hands them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProgressBar", "LiveFront"]


class ProgressBar:
    """A tqdm bar over the trials of one ``optimize``/``resume`` call."""

    def __init__(self, total: int | None, *, desc: str = "trials") -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, unit="trial", leave=True)

    def __call__(self, study: Any, trial: Any) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class LiveFront:
    """A study callback that redraws the current Pareto front in the notebook every
    ``every`` trials, in one output (JupyterLab shows it live; a rendered report keeps
    the last one). The figure is :func:`nasbench.plots.live_front` of ``study.pareto_front()``."""

    def __init__(self, x: str, y: str, every: int = 4) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        self.x, self.y, self.every, self._handle = x, y, every, None

    def __call__(self, study: Any, trial: Any) -> None:
        if (trial.trial_id + 1) % self.every:
            return
        from IPython import display

        from .plots import live_front

        bundle = _mime_bundle(live_front(study.pareto_front(), self.x, self.y, n_trials=trial.trial_id + 1))
        # a raw bundle, so the display id is honoured (displaying the figure object goes
        # through plotly's show() and appends a new output each time)
        if self._handle is None:
            self._handle = display.display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


def _mime_bundle(fig: Any) -> dict:
    """What plotly's notebook renderer shows, without putting plotly.js in the page again
    (:func:`nasbench.plots.setup_notebook` put it there once)."""
    import plotly.io as pio

    return {"application/vnd.plotly.v1+json": {**fig.to_plotly_json(), "config": {}},
            "text/html": pio.to_html(fig, include_plotlyjs=False, full_html=False)}
