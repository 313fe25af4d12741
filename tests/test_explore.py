"""The study explorer on a study run from a synthetic problem (no learning curves):
the ``zdt_study`` fixture of tests/conftest.py."""

from __future__ import annotations

from nasbench import explore


def test_explorer_has_a_static_view_for_reports(zdt_study):
    box = explore.explorer(zdt_study)
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget in JupyterLab
    assert bundle["text/plain"].startswith("Study explorer") and "VBox(" not in bundle["text/plain"]
    html = bundle["text/html"]
    assert "needs a live kernel" in html and "Plotly.newPlot" in html and "plotly.js v" not in html
    fig = box.static_figure()
    assert [t.name for t in fig.data] == ["trials", "Pareto front"] and len(fig.data[0].x) == 24
    assert fig.layout.coloraxis.colorbar.title.text == "generation"


def test_summary_table_reads_as_a_table(zdt_study):
    table = explore.summary_table(zdt_study)
    assert table.loc["objective", "value"] == "zdt1 (n_var=3)"
    assert table.loc["metrics", "value"] == "f1 (minimize), f2 (minimize)"
    assert table.loc["trials", "value"] == "24 done"
    assert table.loc["reference point", "value"] == "1.1, 1.1"
    share = table.loc["hypervolume / true front's", "value"]
    assert share.endswith("%") and 0 <= float(share[:-1]) <= 100
    assert "/" in table.loc["IGD+ / IGD to the true front", "value"]
    fig = explore.hypervolume_figure(zdt_study)
    assert [t.name for t in fig.data][-2:] == ["IGD+", "IGD"]
