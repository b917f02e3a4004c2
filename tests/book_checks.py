"""What a reader must never see on a page of the book, checked on the HTML (used by test_book_render.py on every
built page; test_book_checks.py injects an example of each kind).

Only the article is read, and in it only what a reader sees by default: the folded code inputs and the
collapsed full tables (``<details>``) count only for the long-table check, never for the others.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_TABLE_ROWS = 60  # longer: a figure plus a compact table, the full one collapsed or in a CSV file
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

NAN = re.compile(r"(?<![\w.])[+-]?nan(?![\w(])", re.I)
REST = re.compile(r"``[^`\n]+``|:(?:func|class|mod|meth|doc|ref|attr|data|obj):`|::\s*$", re.M)
PATH = re.compile(r"(?<![\w.~])/(?:home|root|tmp|Users|work|private|var/folders)/")
WARNING = re.compile(r"\b(?!Data)[A-Z]?\w*Warning: |warnings\.warn\(|^\s*warn\(", re.M)
WROTE = re.compile(r"^\s*wrote\b", re.I)
JARGON = re.compile(r"\bissue[ -]?#?\d+\b|\bissue-\d+|\bmoonshot\b", re.I)
# an unsigned mean of a bounded metric followed by its interval: "0.689 [0.329, 1.048]" or "0.689 (0.33 to 1.05)"
INTERVAL = re.compile(r"(?<![\d.+\-−])([01]\.\d+)\s*[\[(]\s*([+\-−]?\d+\.\d+)\s*(?:,|to)\s*([+\-−]?\d+\.\d+)\s*[\])]")


class _Article(HTMLParser):
    """Text of the article as a reader sees it, the text of each cell output, and the rows of each table shown
    outside a collapsed block."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool, bool]] = []  # (tag, hidden, is_output, is_table)
        self.in_article = False
        self.visible: list[str] = []
        self.outputs: list[list[str]] = []
        self.table_rows: list[int] = []

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        if tag == "article" and "bd-article" in classes:
            self.in_article = True
        hidden = self.hidden or tag in ("script", "style", "details") or "cell_input" in classes
        is_output = "cell_output" in classes and not self.hidden
        if is_output:
            self.outputs.append([])
        if tag == "table" and not hidden and self.in_article:
            self.table_rows.append(0)
        if tag == "tr" and not hidden and self.in_article and self.table_rows:
            self.table_rows[-1] += 1
        self.stack.append((tag, hidden, is_output, tag == "table"))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            name = self.stack.pop()[0]
            if name == tag:
                break
        if tag == "article":
            self.in_article = False

    def handle_data(self, data):
        if not self.in_article or self.hidden:
            return
        self.visible.append(data)
        if any(frame[2] for frame in self.stack) and self.outputs:
            self.outputs[-1].append(data)


def _bad_interval(match) -> bool:
    low, high = (float(g.replace("−", "-")) for g in match.group(2, 3))
    return low < 0 or high > 1


def page_defects(html: str, chapter: bool = True, banner: str | None = None) -> list[str]:
    """Every defect of the page ``html``, one string each (empty: clean). ``chapter``: the page is an executed
    chapter (its last output must not be a "wrote ..." line). ``banner``: text that must be in the page's
    announcement bar (the smoke-test banner of a CI book)."""
    article = _Article()
    article.feed(html)
    text = "\n".join(article.visible)
    found = []
    for kind, pattern in (("NaN", NAN), ("raw reST", REST), ("machine path", PATH), ("Python warning", WARNING),
                          ("internal jargon", JARGON)):
        hits = sorted({m.group(0).strip() for m in pattern.finditer(text)})
        if hits:
            found.append(f"{kind}: {hits[:3]}")
    bad = [m.group(0) for m in INTERVAL.finditer(text) if _bad_interval(m)]
    if bad:
        found.append(f"interval outside [0, 1]: {bad[:3]}")
    outputs = ["".join(o).strip() for o in article.outputs if "".join(o).strip()]
    if chapter and outputs and WROTE.match(outputs[-1]):
        found.append(f"last output is a file note: {outputs[-1][:80]!r}")
    long = [n for n in article.table_rows if n > MAX_TABLE_ROWS]
    if long:
        found.append(f"table of {max(long)} rows shown in full (over {MAX_TABLE_ROWS}: collapse it)")
    if banner is not None:
        bar = re.search(r'class="[^"]*bd-header-announcement[^"]*"[^>]*>(.*?)</div>', html, re.S)
        if not bar or banner not in re.sub(r"<[^>]+>", "", bar.group(1)):
            found.append(f"no banner saying {banner!r}")
    return found
