"""`grnlib predict --format` writes each tool's convention exactly, and `--priors` reads every one of
them back (auto-detected from the header, or forced with `--priors-format`); prior edges that name
one gene twice by case are counted, not dropped silently."""
import gzip

import numpy as np
import pandas as pd
import pytest

from grnlib.data import read_edges
from grnlib.errors import DataError, DataWarning
from grnlib.formats import FORMATS, detect_format, edge_format, format_names
from grnlib.user import edge_weight, read_priors, user_dataset

from cli_helpers import run, train_argv

HEADERS = {"grnlib": "tf\ttarget\tscore\trank\tin_prior\tsign\tsign_confidence", "beeline": "Gene1\tGene2\tEdgeWeight",
           "arboreto": "TF\ttarget\timportance", "decoupler": "source\ttarget\tweight"}
TOP_K = 300


@pytest.fixture(scope="module")
def reference(trained, toy_files, tmp_path_factory):
    """The grnlib-format top-k table every other format is compared with."""
    out = tmp_path_factory.mktemp("formats") / "ranked.tsv"
    from grnlib import cli
    assert cli.main(["predict", "--model", str(trained), "--expression", str(toy_files["expression"]),
                     "--top-k", str(TOP_K), "--quiet", "--out", str(out)]) == 0
    return pd.read_csv(out, sep="\t")


def predict(trained, toy_files, out, capsys, *extra):
    return run(["predict", "--model", trained, "--expression", toy_files["expression"], "--top-k", TOP_K,
                "--quiet", "--out", out, *extra], capsys)


def raw_lines(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        return handle.read().splitlines()


@pytest.mark.parametrize("format", format_names(table=True))
@pytest.mark.parametrize("name", ["net.tsv", "net.csv", "net.tsv.gz"])
def test_predict_writes_each_convention_and_reads_it_back(format, name, trained, toy_files, reference, tmp_path,
                                                          capsys):
    if format == "beeline":
        name = name.replace("net", "rankedEdges")
    out = tmp_path / name
    code, _, err = predict(trained, toy_files, out, capsys, "--format", format)
    assert code == 0, err
    if name.endswith(".gz"):
        assert open(out, "rb").read(2) == b"\x1f\x8b"  # compressed by suffix
    lines = raw_lines(out)
    # BEELINE reads rankedEdges.csv tab-separated: only the other formats follow the suffix
    sep = "," if ".csv" in name and format != "beeline" else "\t"
    assert lines[0] == HEADERS[format].replace("\t", sep)
    assert len(lines) == TOP_K + 1
    table = pd.read_csv(out, sep=sep)
    source, target, weight = edge_format(format).columns[:3]
    assert table[source].tolist() == reference["tf"].tolist()  # same edges, best first
    assert table[target].tolist() == reference["target"].tolist()
    magnitude = table[weight].abs()  # decoupler's weight is signed: sign x confidence
    assert magnitude.is_monotonic_decreasing if format != "grnlib" else table[weight].is_monotonic_decreasing
    if format == "grnlib":
        assert table.equals(reference)
    else:
        assert (magnitude > 0).all()
        np.testing.assert_allclose(magnitude, edge_weight(reference["score"]), rtol=1e-5)
        signs = np.sign(table[weight]) if format == "decoupler" else 1
        np.testing.assert_array_equal(signs, reference["sign"] if format == "decoupler" else 1)

    # read back: the header names the format; forcing it gives the same edges
    back = read_priors(out)
    assert back.attrs["format"] == format
    assert list(zip(back["source"], back["target"])) == list(zip(reference["tf"], reference["target"]))
    np.testing.assert_allclose(back["weight"], table[weight])
    forced = read_priors(out, format=format)
    assert forced[["source", "target"]].equals(back[["source", "target"]])


@pytest.mark.parametrize("format", format_names(table=True))
def test_priors_in_every_format_mark_in_prior_and_train(format, trained, toy_files, reference, tmp_path, capsys):
    net = tmp_path / ("net.csv" if format != "beeline" else "rankedEdges.csv")
    assert predict(trained, toy_files, net, capsys, "--format", format)[0] == 0
    # auto-detected and forced: every predicted edge is a prior edge now
    for extra in ([], ["--priors-format", format]):
        out = tmp_path / f"again{len(extra)}.tsv"
        code, _, err = predict(trained, toy_files, out, capsys, "--priors", net, *extra)
        assert code == 0, err
        assert pd.read_csv(out, sep="\t")["in_prior"].tolist() == [1] * TOP_K
    # and the table trains a model as priors
    code, _, err = run(train_argv({**toy_files, "priors": net}, tmp_path / "model"), capsys)
    assert code == 0, err


def test_forced_format_that_does_not_match_is_one_line(trained, toy_files, tmp_path, capsys):
    net = tmp_path / "net.tsv"
    assert predict(trained, toy_files, net, capsys, "--format", "arboreto")[0] == 0
    code, out, err = predict(trained, toy_files, tmp_path / "x.tsv", capsys, "--priors", net,
                             "--priors-format", "beeline")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "net.tsv" in err and "not the beeline header Gene1, Gene2, EdgeWeight" in err
    assert not (tmp_path / "x.tsv").exists()


def test_unknown_format_is_a_usage_error(trained, toy_files, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        predict(trained, toy_files, tmp_path / "x.tsv", capsys, "--format", "gephi")
    assert exc.value.code == 2


@pytest.mark.parametrize("text, sign", [
    # decoupler 2's CollecTRI: weight is the mode of regulation
    ("source,target,weight,resources,references,sign_decision\nMYC,TERT,1,x,1,PMID\nTP53,MYC,-1,y,2,default\n",
     [1, -1]),
    # DoRothEA: a confidence level besides the weight
    ("source,confidence,target,weight\nMYC,A,TERT,1.0\nTP53,B,MYC,-1.0\n", [1, -1]),
    # decoupler 1's column name
    ("source,target,mor\nMYC,TERT,1\nTP53,MYC,-1\n", [1, -1]),
])
def test_decoupler_resources_are_read_with_their_signs(text, sign, tmp_path):
    path = tmp_path / "collectri.csv"
    path.write_text(text)
    edges = read_priors(path)
    assert edges.attrs["format"] == "decoupler"
    assert list(zip(edges["source"], edges["target"])) == [("MYC", "TERT"), ("TP53", "MYC")]
    assert edges["sign"].tolist() == sign


def test_command_line_offers_every_format():
    """The choices of every format option are the names of grnlib.formats.FORMATS (the edge tables where
    a file is read; every format where predict writes)."""
    from grnlib.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    choices = {(command, action.dest): list(action.choices) for command, parser in commands.items()
               for action in parser._actions if action.dest.endswith("format")}
    assert choices == {("predict", "priors_format"): format_names(table=True), ("predict", "format"): FORMATS.names()
                       and format_names(), ("train", "priors_format"): format_names(table=True),
                       ("score", "network_format"): format_names(table=True),
                       ("score", "reference_format"): format_names(table=True)}
    assert set(format_names()) == set(FORMATS.names())


def test_format_detection_is_by_header():
    assert detect_format(["tf", "target", "score", "rank", "in_prior"]) == "grnlib"
    assert detect_format(["TF", "target", "importance"]) == "arboreto"
    assert detect_format(["Gene1", "Gene2", "EdgeWeight"]) == "beeline"
    assert detect_format(["Gene1", "Gene2", "Type"]) == "beeline"  # BEELINE's refNetwork.csv
    assert detect_format(["source", "target"]) == "decoupler"
    assert detect_format(["regulator", "gene"]) is None  # still read through the aliases


@pytest.mark.parametrize("format", format_names(table=True))
@pytest.mark.parametrize("name", ["net.tsv", "net.csv", "net.csv.gz"])
def test_every_format_round_trips_without_a_model(format, name, tmp_path):
    """A ranked table written in each format (any suffix) is read back as the same signed, weighted edges,
    detected from its header and forced."""
    from grnlib.user import write_ranked

    ranked = pd.DataFrame({"tf": ["A", "A", "B", "C"], "target": ["B", "C", "C", "A"],
                           "score": [2.5, 0.75, -0.5, -3.0], "rank": [1, 2, 3, 4], "in_prior": [1, 0, 0, 1],
                           "sign": [1, -1, 1, -1], "sign_confidence": [1.0, 0.6, 0.7, 1.0]})
    path = write_ranked(ranked, tmp_path / name, format=format)
    written = edge_format(format)
    sep = written.separator or ("," if ".csv" in name else "\t")
    assert raw_lines(path)[0].split(sep) == [c for c in written.columns if c in ranked or c in written.columns[:3]]
    for forced in (None, format):
        back = read_edges(path, format=forced)
        assert back.attrs["format"] == format
        assert list(zip(back["source"], back["target"])) == list(zip(ranked["tf"], ranked["target"]))
        weight = ranked["score"] if written.weight is None else edge_weight(ranked["score"]) * (
            ranked["sign"] if written.signed else 1)
        np.testing.assert_allclose(back["weight"], weight, rtol=1e-6)
        if written.signed or "sign" in written.columns:
            assert back["sign"].tolist() == ranked["sign"].tolist()


def test_the_readme_table_lists_every_format():
    """README's --format table: one row per format, its columns, and 'always tab' where the format fixes it."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| `--format` | columns | separator |", 1)[1].split("\n\n", 1)[0]
    rows = {line.split("`")[1]: line for line in table.splitlines() if line.startswith("| `")}
    assert list(rows) == format_names()
    for name, row in rows.items():
        written = edge_format(name)
        assert " ".join(written.columns[:3]) in row, row
        assert ("always tab" in row) == (written.separator == "\t"), row


def test_tab_separated_beeline_table_under_a_csv_name(tmp_path):
    path = tmp_path / "rankedEdges.csv"
    path.write_text("Gene1\tGene2\tEdgeWeight\nA\tB\t0.9\nB\tC\t0.5\n")
    edges = read_edges(path)
    assert list(zip(edges["source"], edges["target"], edges["weight"])) == [("A", "B", 0.9), ("B", "C", 0.5)]


# -- defect 9: ARID2,arid2 names one gene twice -------------------------------------------------------
def test_prior_edges_naming_one_gene_by_case_are_counted(toy_files, tmp_path):
    edges = pd.read_csv(toy_files["priors"])
    # G0003,g0003 and G0001,g0001 are self-loops once matched; the third repeats the first edge
    extra = pd.DataFrame({"source": ["G0003", "G0001", edges["source"][0].lower()],
                          "target": ["g0003", "g0001", edges["target"][0]]})
    path = tmp_path / "priors.csv"
    pd.concat([edges, extra]).to_csv(path, index=False)
    priors = read_priors(path)
    assert len(priors) == len(edges) + 3  # exact spellings differ: the file itself has no loop
    with pytest.warns(DataWarning) as caught:
        ds = user_dataset(toy_files["ds"].expression, priors, priors_path=path)
    messages = [str(w.message) for w in caught]
    assert any("dropped 2 of" in m and "join a gene to itself" in m and "'G0003,g0003'" in m for m in messages)
    assert any("dropped 1 of" in m and "repeat another edge" in m for m in messages)
    assert ds.n_edges == len(edges)
    assert ds.meta["n_self_loops_by_case"] == 2 and ds.meta["n_duplicates_by_case"] == 1


def test_case_self_loops_are_a_warning_line_of_train(toy_files, tmp_path, capsys):
    edges = pd.read_csv(toy_files["priors"])
    path = tmp_path / "priors.csv"
    pd.concat([edges, pd.DataFrame({"source": ["G0003"], "target": ["g0003"]})]).to_csv(path, index=False)
    code, _, err = run(train_argv({**toy_files, "priors": path}, tmp_path / "model"), capsys)
    assert code == 0
    assert f"{path}: dropped 1 of {len(edges) + 1} edge(s) that join a gene to itself" in err


def test_dataframe_edges_in_any_format():
    from grnlib.data.edges import edges_from_table

    frame = pd.DataFrame({"Gene1": ["A", "B"], "Gene2": ["B", "C"], "EdgeWeight": [2.0, 1.0]})
    edges = edges_from_table(frame)
    assert edges.columns.tolist() == ["source", "target", "weight"] and edges.attrs["format"] == "beeline"
    with pytest.raises(DataError, match="not the arboreto header"):
        edges_from_table(frame, format="arboreto")
