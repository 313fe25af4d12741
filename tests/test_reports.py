"""The report machinery without running a notebook: provenance and offline HTML."""

from __future__ import annotations

import platform
import subprocess

import nbformat
import pytest

from nasbench import reports


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_git_commit_names_the_short_hash_and_local_changes(tmp_path):
    assert reports.git_commit(tmp_path) == "no git commit"
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert reports.git_commit(tmp_path) == f"commit {head}"
    (tmp_path / "untracked.txt").write_text("not part of the report's code")
    assert reports.git_commit(tmp_path) == f"commit {head}"
    (tmp_path / "a.txt").write_text("two")
    assert reports.git_commit(tmp_path) == f"commit {head} + local changes"


def test_provenance_names_the_commit_and_not_the_host(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x: int = 1  # a parameter",
                                                                   metadata={"tags": ["parameters"]})],
                                 metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                          "language": "python"}})
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    text = reports._provenance(path, {"x": 2}, 3.0)
    assert "no git commit" in text and "executed in 3 s" in text and "| `x` | `2` |" in text
    if platform.node():
        assert platform.node() not in text


def _notebook(html: str):
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "fig"})]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A report"), cell])


def test_html_loads_no_script_from_the_network():
    plotly_tag = '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/3.2.2/es5/tex-svg.min.js"></script>'
    html = reports.to_html(_notebook(f'<div id="fig">{plotly_tag}<script>var a = 1;</script></div>'))
    assert "A report" in html and '<div id="fig">' in html and "var a = 1;" in html
    assert "require.min.js" not in html and "mathjax" not in html.lower() and "mermaid.esm" not in html
    assert 'src="http' not in html


def test_a_report_that_would_still_fetch_a_script_is_refused():
    with pytest.raises(reports.ReportError, match=r"would load https://cdn\.example\.org/x\.js from the network"):
        reports.to_html(_notebook('<script src="https://cdn.example.org/x.js"></script>'))
