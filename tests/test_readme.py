"""The README's model table states the parameter counts the registry really builds."""
import re
from pathlib import Path

from grnlib.models import MODELS, build_model, count_parameters

README = Path(__file__).resolve().parent.parent / "README.md"
HHEP_GENES, PCA_FEATURES = 948, 64


def readme_counts() -> dict[str, int]:
    rows = re.findall(r"^\| `(\w+)` \|[^|]*\| ([\d,]+) \|$", README.read_text(), flags=re.M)
    return {name: int(count.replace(",", "")) for name, count in rows}


def test_every_registered_model_is_in_the_readme_table():
    assert set(readme_counts()) == set(MODELS.names())


def test_readme_parameter_counts_match_the_registry():
    for name, stated in readme_counts().items():
        model = build_model(name, n_genes=HHEP_GENES, in_features=PCA_FEATURES)
        assert count_parameters(model) == stated, name
