"""Execute a notebook with papermill and render it to HTML with nbconvert.

``render(notebook, parameters)`` writes ``<output_dir>/<name>.ipynb`` (executed)
and ``<name>.html``. A provenance cell at the top of both says how the report
was produced: the command, the parameters, the machine, the time taken. Code
cells are hidden in the HTML; the parameters used are in that cell. Plotly
figures carry plotly.js inline (the notebooks select the renderer
``plotly_mimetype+notebook``), so the HTML opens offline.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import time
from pathlib import Path
from typing import Any, Mapping

__all__ = ["ReportError", "render", "parse_value", "notebook_parameters"]


class ReportError(RuntimeError):
    """A notebook cell failed; the message names the cell and the error."""


def parse_value(text: str) -> Any:
    """A ``-p NAME VALUE`` value: int, float, bool, null or string, as YAML reads it."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def notebook_parameters(notebook: str | Path) -> dict[str, Any]:
    """The parameters a notebook declares (its cell tagged ``parameters``), with defaults."""
    import papermill

    params = papermill.inspect_notebook(str(notebook))
    return {name: spec["default"] for name, spec in params.items()}


def _provenance(notebook: Path, parameters: Mapping[str, Any], seconds: float) -> str:
    from . import __version__

    command = "nasbench report " + shlex.quote(str(notebook)) + "".join(
        f" -p {name} {shlex.quote(str(v))}" for name, v in parameters.items())
    defaults = notebook_parameters(notebook)
    rows = "\n".join(f"| `{k}` | `{parameters.get(k, _literal(v))}` |" for k, v in {**defaults, **parameters}.items())
    return (f"**How this report was produced.** `{command}` on {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
            f"{platform.node() or 'a machine'} ({platform.machine()}, {os.cpu_count()} CPUs, {_device()}), Python "
            f"{platform.python_version()}, nasbench {__version__}; executed in {seconds:.0f} s.\n\n"
            f"| parameter | value |\n|---|---|\n{rows}")


def _literal(text: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _device() -> str:
    try:
        import torch

        return f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    except ImportError:  # pragma: no cover - torch is a dependency
        return "no torch"


def render(notebook: str | Path, parameters: Mapping[str, Any] | None = None, *, output_dir: str | Path = "reports",
           kernel: str = "python3", hide_input: bool = True, cell_timeout: int = 3600) -> tuple[Path, Path]:
    """Execute ``notebook`` with ``parameters`` into ``output_dir``; return the executed
    ``.ipynb`` and the ``.html``. A failing cell raises :class:`ReportError`."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    notebook, output_dir = Path(notebook), Path(output_dir)
    if not notebook.is_file():
        raise ReportError(f"no notebook at {notebook}; the notebooks are in notebooks/")
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(notebook_parameters(notebook)))
    if unknown:
        raise ReportError(f"{notebook.name} has no parameters {unknown}; it takes {sorted(notebook_parameters(notebook))}")
    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / notebook.name
    start = time.perf_counter()
    try:
        papermill.execute_notebook(str(notebook), str(executed), parameters=parameters, kernel_name=kernel,
                                   cwd=str(notebook.resolve().parent), progress_bar=False,
                                   execution_timeout=cell_timeout)
    except papermill.PapermillExecutionError as exc:
        raise ReportError(f"{notebook.name}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}") from None
    nb = nbformat.read(executed, as_version=4)
    # widget state (the explorer's figures carry plotly.js again) needs a live kernel anyway
    nb.metadata.pop("widgets", None)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(_provenance(notebook, parameters, time.perf_counter() - start)))
    nbformat.write(nb, executed)
    html, _ = HTMLExporter(exclude_input=hide_input, exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
    target = executed.with_suffix(".html")
    target.write_text(html, encoding="utf-8")
    return executed, target
