"""The notebooks' one writer (grnlib.Chapter) and the public namespaces they import from."""
import importlib
import json
import os

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import grnlib  # noqa: E402
from grnlib import Chapter  # noqa: E402


def test_chapter_writes_params_metrics_figures_and_tables(tmp_path):
    out = Chapter("01_test", base=tmp_path)
    assert os.fspath(out) == str(tmp_path / "01_test") and (tmp_path / "01_test").is_dir()
    assert out / "model" == tmp_path / "01_test" / "model"
    metrics = pd.DataFrame({"name": ["degree", "phase1"], "auroc": [0.8, 0.85]})
    summary = pd.DataFrame({"auroc": [0.8, 0.85]}, index=pd.Index(["degree", "phase1"], name="model"))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    written = out.save(params={"seed": 0}, metrics=metrics, figures={"roc": fig},
                       tables={"history.csv": metrics, "summary": summary, "pairs.tsv.gz": metrics},
                       json={"extra.json": {"a": 1}})
    plt.close(fig)
    assert sorted(p.name for p in written) == ["extra.json", "history.csv", "metrics.json", "pairs.tsv.gz",
                                               "params.json", "roc.png", "summary.csv"]
    assert json.loads((out / "metrics.json").read_text()) == metrics.to_dict(orient="records")
    assert json.loads((out / "params.json").read_text()) == {"seed": 0}
    assert (out / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert pd.read_csv(out / "summary.csv").columns.tolist() == ["model", "auroc"]  # a named index is kept
    assert pd.read_csv(out / "history.csv").equals(metrics)  # a plain 0..n-1 index is not
    assert pd.read_csv(out / "pairs.tsv.gz", sep="\t").equals(metrics)
    assert not [p for p in (tmp_path / "01_test").iterdir() if p.name.startswith(".")]  # no temporaries left


def test_a_failed_figure_leaves_no_file(tmp_path):
    class Broken:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("renderer failed")

    out = Chapter("x", base=tmp_path)
    with pytest.raises(RuntimeError):
        out.save(figures={"broken": Broken()})
    assert list((tmp_path / "x").iterdir()) == []


@pytest.mark.parametrize("namespace", grnlib.NAMESPACES)
def test_public_namespaces_export_what_they_list(namespace):
    module = importlib.import_module(f"grnlib.{namespace}")
    assert getattr(grnlib, namespace) is module
    missing = [name for name in getattr(module, "__all__", ()) if not hasattr(module, name)]
    assert missing == []
