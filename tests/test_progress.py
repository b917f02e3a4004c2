"""grnlib.progress: timed step lines and chunk bars on stderr, silenced by --quiet and under CI."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grnlib import progress


@pytest.fixture
def shown(monkeypatch):
    """Progress on (as for a user at a terminal), every step long enough to print."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress, "_quiet", False)
    monkeypatch.setattr(progress, "MIN_SECONDS", 0.0)


def test_a_step_prints_one_timed_line_with_its_notes(shown, capsys):
    with progress.step("gene features (PCA, 64 components)") as record:
        record.note("20,000 genes x 50,000 cells")
    out, err = capsys.readouterr()
    assert out == ""
    line, = err.splitlines()
    assert line.startswith("grnlib: gene features (PCA, 64 components) (20,000 genes x 50,000 cells): ")
    assert " s" in line


def test_quiet_ci_short_steps_and_failures_print_nothing(shown, capsys, monkeypatch):
    progress.set_quiet(True)
    with progress.step("reading"):
        pass
    assert not progress.enabled() and progress.bar(range(3)).disable
    progress.set_quiet(False)
    monkeypatch.setenv("CI", "true")
    with progress.step("reading"):
        pass
    monkeypatch.delenv("CI")
    monkeypatch.setattr(progress, "MIN_SECONDS", 60.0)
    with progress.step("a fast step"):
        pass
    with pytest.raises(RuntimeError):
        with progress.step("failing", min_seconds=0):
            raise RuntimeError("boom")
    assert capsys.readouterr().err == ""
    assert progress.enabled() and not progress.bar(range(3)).disable


def test_the_cli_console_switches_progress(monkeypatch):
    from grnlib.cli.common import Console

    monkeypatch.setattr(progress, "_quiet", False)
    Console("train", quiet=True)
    assert progress._quiet
    Console("predict", quiet=False)
    assert not progress._quiet


def test_reading_and_gene_features_report_their_steps(shown, tmp_path, capsys):
    import anndata as ad

    from grnlib.data import read_expression
    from grnlib.features import FeatureRecipe

    counts = sp.random(50, 30, density=0.3, format="csr", dtype=np.float32, random_state=0)
    counts.data = np.ceil(counts.data * 5)
    ad.AnnData(counts, obs=pd.DataFrame(index=[f"c{i}" for i in range(50)]),
               var=pd.DataFrame(index=[f"G{j}" for j in range(30)])).write_h5ad(tmp_path / "x.h5ad")
    adata = read_expression(tmp_path / "x.h5ad", raw_counts=True)
    recipe = FeatureRecipe.fit(adata, "pca", n_components=4)
    recipe.transform(adata)
    err = capsys.readouterr().err
    assert "grnlib: read x.h5ad (50 cells x 30 genes" in err and "normalised to log1p" in err
    assert "grnlib: gene features: fit PCA, 4 components (30 genes x 50 cells" in err
    assert "grnlib: gene features: pca for 30 genes" in err
