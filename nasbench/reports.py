"""Execute a notebook with papermill and render it to HTML with nbconvert.

``render(notebook, parameters)`` writes ``<output_dir>/<name>.ipynb`` (executed)
and ``<name>.html``. A provenance cell at the top of both says how the report
was produced: the command, the parameters, the git commit, the machine (no
host name), the time taken. Code cells are hidden in the HTML; the parameters
used are in that cell. papermill's progress bar shows the cells as they run.

Everything the HTML needs is inside it: plotly.js is inline (the notebooks select
the renderer ``plotly_mimetype+notebook``); the page template leaves out
require.js, MathJax and mermaid, which nbconvert loads from a CDN (no notebook
here needs them), and the MathJax tag plotly puts before every figure is dropped.
A report that would still load a script from the network fails with its URL.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any, Mapping

__all__ = ["ReportError", "render", "parse_value", "notebook_parameters", "git_commit", "to_html"]


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
    return (f"**How this report was produced.** `{command}` on {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} "
            f"at {git_commit(notebook.resolve().parent)}, on {platform.machine()} with {os.cpu_count()} CPUs, "
            f"{_device()}, Python {platform.python_version()}, nasbench {__version__}; executed in {seconds:.0f} s.\n\n"
            f"| parameter | value |\n|---|---|\n{rows}")


def git_commit(where: str | Path = ".") -> str:
    """``commit 1a2b3c4`` of the checkout holding ``where``, ``+ local changes`` when
    tracked files differ from it; ``no git commit`` outside a checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "no git commit"
    return f"commit {commit}" + (" + local changes" if dirty else "")


#: nbconvert's lab page without the scripts it fetches from a CDN (require.js,
#: MathJax, mermaid): nothing in these reports uses them, and a report must open offline.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
# plotly's HTML renderer writes this before every figure (include_mathjax="cdn" is fixed in
# plotly.io's NotebookRenderer); the figures here hold no LaTeX, so the tag only costs a request
_PLOTLY_MATHJAX = re.compile(r'<script src="https://cdn[^"]*/mathjax/[^"]*"></script>')
_NETWORK_SCRIPT = re.compile(r'<script[^>]*\ssrc="(https?://[^"]+)"')


def _offline(nb) -> None:
    """Drop plotly's MathJax tag from every HTML output, in place."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html")
            if html:
                text = "".join(html) if isinstance(html, list) else html
                out["data"]["text/html"] = _PLOTLY_MATHJAX.sub("", text)


def to_html(nb, hide_input: bool = True) -> str:
    """The notebook as one self-contained HTML page (no scripts from the network)."""
    import jinja2
    from nbconvert import HTMLExporter

    _offline(nb)
    exporter = HTMLExporter(exclude_input=hide_input, exclude_input_prompt=True, exclude_output_prompt=True,
                            extra_loaders=[jinja2.DictLoader({"nasbench_offline.html.j2": _OFFLINE_TEMPLATE})],
                            template_file="nasbench_offline.html.j2")
    html, _ = exporter.from_notebook_node(nb)
    remote = _NETWORK_SCRIPT.findall(html)
    if remote:
        raise ReportError(f"the report would load {remote[0]} from the network; display that output without "
                          "remote scripts (plotly: plots.setup_notebook())")
    return html


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
           kernel: str = "python3", hide_input: bool = True, cell_timeout: int = 3600,
           progress: bool = True) -> tuple[Path, Path]:
    """Execute ``notebook`` with ``parameters`` into ``output_dir``; return the executed
    ``.ipynb`` and the ``.html``. ``progress``: papermill's bar over the cells (on
    stderr). A failing cell raises :class:`ReportError`."""
    import nbformat
    import papermill

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
                                   cwd=str(notebook.resolve().parent), progress_bar=progress,
                                   execution_timeout=cell_timeout)
    except papermill.PapermillExecutionError as exc:
        raise ReportError(f"{notebook.name}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}") from None
    nb = nbformat.read(executed, as_version=4)
    # widget state (the explorer's figures carry plotly.js again) needs a live kernel anyway
    nb.metadata.pop("widgets", None)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(_provenance(notebook, parameters, time.perf_counter() - start)))
    nbformat.write(nb, executed)
    html = to_html(nb, hide_input)
    target = executed.with_suffix(".html")
    target.write_text(html, encoding="utf-8")
    return executed, target
