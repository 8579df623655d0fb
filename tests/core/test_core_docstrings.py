"""No docstring broken mid-sentence by an old reflow: a line that ends early although the next line's first
word (or the whole next line) would have fitted on it within the 110-column limit, and an ``Args:`` entry
whose continuation lost its hanging indent. Tables, lists, code blocks and one-clause-per-line formula lists
are left alone (they are aligned on purpose)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("gen3d", "datasets", "viz", "tests")
LIMIT = 110  # pyproject.toml [tool.ruff] line-length
SHORT = 75  # a line this long or longer may end early on purpose (the next word is long, or a clause ends)
ORPHAN = 40  # a next line this short that fits entirely on the previous one is an orphan
SECTIONS = ("Args:", "Arguments:", "Parameters:", "Raises:", "Attributes:")
#: ``name:``, ``a, b:``, ``**kwargs:``, ``name (type):`` at the start of a Google-style entry
ENTRY = re.compile(r"^\**[A-Za-z_][\w.]*(, \**[A-Za-z_][\w.]*)*( \([^)]*\))?:( |$)")
#: bullets, doctest, RST directives and tables, numbered steps
MARKER = re.compile(r"^([*-] |>>> |\.\. |\||=+( +=+)*$|[-+]{3,}|\d+\. )")
CONTINUES = re.compile(r"^[a-z(`']")  # a word that continues the sentence of the line before
ENDS = (".", ":", "?", "!")


def _docstrings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):
                    yield first.value


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _aligned(line: str) -> bool:
    """A table row, bullet, code or formula line: left alone."""
    s = line.strip().removeprefix('"""').removeprefix('r"""')
    return not s or bool(MARKER.match(s)) or "   " in s


def _early_breaks(lines: list[str], base: int) -> list[tuple[int, str]]:
    """``(offset, why)`` for each line of a docstring that ends although the next would have fitted on it."""
    bad = []
    for k in range(len(lines) - 1):
        a, b = lines[k].rstrip(), lines[k + 1].rstrip()
        if not a.strip() or not b.strip() or _aligned(a) or _aligned(b) or ENTRY.match(b.strip()):
            continue
        if (base if k == 0 else _indent(a)) != _indent(b) or _indent(b) != base:
            continue  # an indented block (code, a hanging continuation, a nested list)
        if a.endswith(ENDS) and not a.endswith(("e.g.", "i.e.")):
            continue
        nxt = b.strip()
        word = nxt.split()[0]
        if len(nxt) < ORPHAN and len(a) + 1 + len(nxt) <= LIMIT:
            bad.append((k, f"the whole next line {nxt!r} fits"))
        elif len(a) < SHORT and CONTINUES.match(word) and len(a) + 1 + len(word) <= LIMIT:
            bad.append((k, f"the next word {word!r} fits"))
    return bad


def _lost_hanging_indents(lines: list[str], base: int) -> list[tuple[int, str]]:
    """Lines at an ``Args:`` section's entry indent that are not entries: a continuation lost its indent."""
    bad, section, entry = [], None, None
    for k, line in enumerate(lines):
        s = line.strip()
        if s in SECTIONS:
            section, entry = (_indent(line) if k else base), None
        elif section is not None and s:
            if _indent(line) <= section:
                section = None
            elif entry is None:
                entry = _indent(line)
            elif _indent(line) == entry and not ENTRY.match(s):
                bad.append((k, "an entry's continuation without its hanging indent"))
    return bad


def broken_lines(source: str) -> list[tuple[int, str]]:
    """``(line number, why)`` for every docstring line of ``source`` that an old reflow broke."""
    lines = source.splitlines()
    out = []
    for doc in _docstrings(ast.parse(source)):
        body = lines[doc.lineno - 1 : doc.end_lineno]
        rest = [_indent(line) for line in body[1:] if line.strip()]
        base = min(rest) if rest else 0
        for k, why in _early_breaks(body, base) + _lost_hanging_indents(body, base):
            out.append((doc.lineno + k, why))
    return sorted(out)


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (REPO / folder).rglob("*.py"))


def test_no_docstring_is_broken_mid_sentence():
    files = _sources()
    assert len(files) > 100
    bad = [f"{f.relative_to(REPO)}:{n}: {why}" for f in files for n, why in broken_lines(f.read_text())]
    assert not bad, "re-wrap these docstring lines at 110 columns:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "doc, lines",
    [
        # the cases this test was written for (training/module.py, training/ema.py, config.py, guidance.py)
        ('"""The process owns the density, the\nperturbation\nkernel and the loss weight."""', [1, 2]),
        ('"""EMA, with ``t``:\nnumber of\nearlier updates, kept in the state."""', [2]),
        ('"""Unknown keys are errors.\n``process``\nand ``net`` take free keyword arguments."""', [2]),
        (
            'def f(x):\n    """Guided.\n\n    Args:\n        x: a denoiser trained with label\n'
            '        dropout.\n    """',
            [6],
        ),
    ],
)
def test_the_patterns_are_found(doc, lines):
    assert [n for n, _ in broken_lines(doc)] == lines


@pytest.mark.parametrize(
    "doc",
    [
        '"""One sentence per line.\nA second sentence, starting a new line on purpose."""',
        '"""Table:\n\n=== ===\nkey meaning\n=== ===\npoints     (S, N, 3)\nvoxels     (S, 1, R)\n=== ==="""',
        '"""Steps:\n\n* first step\n* second step\n"""',
        '"""A long line that ends close to the limit because the next word is long, as a wrapper leaves it\n'
        'unmistakably."""',
        'def f(x):\n    """Doc.\n\n    Args:\n        x: a long description that goes on and on past the\n'
        '            limit, continued with its hanging indent.\n    """',
    ],
)
def test_deliberate_layouts_pass(doc):
    assert broken_lines(doc) == []
