"""The page checker of the render test (tests/book_checks.py) finds each defect kind on a small page, and passes
a clean one: the render test can fail on every kind it claims to check."""
import pytest

from book_checks import MAX_TABLE_ROWS, page_defects


def page(body: str, banner: str = "") -> str:
    bar = f'<div class="bd-header-announcement container-fluid"><div class="content">{banner}</div></div>' if banner else ""
    return (f"<html><body>{bar}<nav>wrote nav nan issue 11</nav><article class=\"bd-article\">"
            f"<h1>Chapter</h1>{body}</article></body></html>")


def output(text: str) -> str:
    return f'<div class="cell_output docutils container"><div class="output stream"><pre>{text}</pre></div></div>'


def table(rows: int) -> str:
    return "<table><tr><th>a</th></tr>" + "".join(f"<tr><td>{i}</td></tr>" for i in range(rows)) + "</table>"


CLEAN = page("<p>AUROC 0.812 [0.790, 0.833]; Δ -0.004 [-0.020, 0.011]; Δ +0.013 (+0.01 to +0.02).</p>"
             + output("mean 0.900 ± 0.010") + table(5)
             + '<details class="hide above-input"><div class="cell_input"><pre>x = np.nan  # wrote\n'
               'warnings.warn("x")  ``code``</pre></div></details>'
             + "<details><summary>full table</summary>" + table(MAX_TABLE_ROWS + 50) + "</details>"
             + output("## Conclusion: the model is above the floor."))


def test_a_clean_page_passes():
    assert page_defects(CLEAN) == []


@pytest.mark.parametrize("kind, body", [
    ("NaN", output("0.812 [+nan, +nan]")),
    ("NaN", "<p>mean nan</p>"),
    ("raw reST", output("see :func:`goal_table_11` for details")),
    ("raw reST", output("Run ``grnlib rank``::")),
    ("machine path", output("DataWarning: /home/me/data/x.csv: 3 genes dropped")),
    ("machine path", output("wrote /work/main/results/07")),
    ("Python warning", output("/x.py:12: FutureWarning: the default will change")),
    ("Python warning", output("UserWarning: something")),
    ("internal jargon", "<p>the issue-11 presets</p>"),
    ("internal jargon", "<p>as in issue 18</p>"),
    ("internal jargon", "<p>the moonshot</p>"),
    ("interval outside [0, 1]", output("best  0.689 [0.329, 1.048]")),
    ("interval outside [0, 1]", "<td>0.512 (-0.02 to 0.98)</td>"),
    ("last output is a file note", output("wrote results/06_comparison (summary.csv)")),
    ("table of", table(MAX_TABLE_ROWS + 1)),
])
def test_each_defect_kind_is_found(kind, body):
    found = page_defects(page(body))
    assert any(f.startswith(kind) for f in found), found


def test_a_data_warning_on_one_line_is_allowed_and_a_wrote_line_before_the_end_too():
    body = output("DataWarning: beeline/x.csv: 3 genes dropped") + output("wrote results/x") + output("done")
    assert page_defects(page(body)) == []
    assert page_defects(page(output("wrote results/x")), chapter=False) == []


def test_the_smoke_banner_is_required_when_asked():
    banner = "Smoke-test build"
    assert page_defects(page("<p>x</p>", banner=f"{banner} (parameter set ci)"), banner=banner) == []
    assert any(f.startswith("no banner") for f in page_defects(page("<p>x</p>"), banner=banner))
