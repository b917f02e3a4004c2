"""Chapter conclusions (grnlib.evaluation.verdicts): the model chosen on validation is compared with the higher
floor on the same pairs, a model below the floor is named with its reason, and one run never claims an interval."""
import numpy as np
import pandas as pd

from grnlib.evaluation.verdicts import against_floor, conclusion, verdict


def metrics(model_level: dict, seeds=(0, 1, 2), noise=0.004):
    rng, rows = np.random.default_rng(0), []
    for protocol, level in model_level.items():
        for seed in seeds:
            for name, kind, value in [("degree", "baseline", 0.80), ("edge_prior", "baseline", 0.78),
                                      ("random", "baseline", 0.5), ("good", "model", level), ("weak", "model", 0.6)]:
                rows.append(dict(protocol=protocol, seed=seed, name=name, kind=kind,
                                 auroc=value + rng.normal(0, noise), val_auroc=value + rng.normal(0, noise)))
    return pd.DataFrame(rows)


def test_verdicts_follow_the_paired_interval():
    assert verdict(0.02, 0.01) == "above" and verdict(-0.02, 0.01) == "below" and verdict(0.005, 0.01) == "tie"
    assert verdict(-0.02, float("nan")) == "below (one run)"


def test_the_validation_choice_is_judged_against_the_floor():
    table = against_floor(metrics({"released": 0.85, "heldout-tf": 0.70}), by="protocol")
    chosen = table[table["chosen"]].set_index("protocol")
    assert set(chosen["model"]) == {"good"} and set(chosen["floor"]) == {"degree"}
    assert chosen.loc["released", "verdict"] == "above" and chosen.loc["heldout-tf", "verdict"] == "below"


def test_the_conclusion_names_models_below_the_floor_with_their_reason():
    text = conclusion("Does it beat the floor?", metrics({"released": 0.85, "heldout-tf": 0.70}), by="protocol",
                      below_reason={"heldout-tf": "New TFs have no edges.", "": "Too few epochs."},
                      if_above="Use it.", if_not="Use the floor.")
    assert text.startswith("## Conclusion") and "**Asked.** Does it beat the floor?" in text
    assert "`good` (heldout-tf)" in text and "New TFs have no edges." in text and "Too few epochs." in text
    assert "**For a user.** Use the floor." in text and "nan" not in text.lower()
    single = conclusion("One run?", metrics({"released": 0.70}, seeds=(0,)), if_above="a", if_not="b")
    assert "in one run" in single and "±" not in single.split("**Found.**")[1].split("\n\n")[1]


def test_a_tie_on_validation_chooses_one_model():
    table = metrics({"released": 0.85})
    table.loc[table["name"] == "weak", ["val_auroc"]] = table.loc[table["name"] == "good", "val_auroc"].to_numpy()
    chosen = against_floor(table, by="protocol")
    assert chosen["chosen"].sum() == 1
