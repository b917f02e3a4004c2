"""One pipeline: `grnlib train` and the notebook path (make_split + evaluate_split on the same data,
spec and seed) give identical metrics, recomputed from scratch (no run cache)."""
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_helpers import TINY_PARAMS, write_toy  # noqa: E402

from grnlib import cli  # noqa: E402
from grnlib.evaluation.experiment import evaluate_split  # noqa: E402
from grnlib.evaluation.protocols import make_split  # noqa: E402
from grnlib.evaluation.spec import resolve_spec  # noqa: E402
from grnlib.user import read_priors, read_user_expression, user_dataset  # noqa: E402


@pytest.mark.parametrize("model", ["expression_two_tower", "pair_evidence"])
def test_cli_train_and_notebook_path_give_identical_metrics(model, tmp_path, monkeypatch):
    import yaml

    monkeypatch.setenv("GRNLIB_NO_CACHE", "1")
    files = write_toy(tmp_path / "toy")
    params = yaml.safe_load(TINY_PARAMS)
    if model == "pair_evidence":
        params.pop("model_cfg")  # the tiny two-tower widths are not pair_evidence keys
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "model"
    assert cli.main(["train", "--expression", str(files["expression"]), "--priors", str(files["priors"]),
                     "--model", model, "--params", str(tmp_path / "params.yaml"), "--seed", "3", "--out", str(out),
                     "--quiet", "--device", "cpu"]) == 0
    from_cli = pd.read_csv(out / "metrics.tsv", sep="\t", float_precision="round_trip")

    expression = read_user_expression(files["expression"])
    ds = user_dataset(expression, read_priors(files["priors"], genes=expression.var_names))
    split = make_split(ds, "seed", seed=3, neg_ratio=1.0, val_fraction=0.15)
    spec = resolve_spec({"model": model, **params})
    from_notebook = evaluate_split(ds, split, [spec], baselines=("degree",), seed=3).metrics
    columns = [c for c in from_cli.columns if c in from_notebook.columns and c not in ("name", "kind")]
    assert len(columns) > 10
    pd.testing.assert_frame_equal(from_cli[columns].reset_index(drop=True),
                                  from_notebook[columns].reset_index(drop=True), check_dtype=False, check_exact=True)
