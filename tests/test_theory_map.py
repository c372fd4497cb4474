"""docs/theory.md, the map equation → function → test → notebook, points at things that exist.

Every row marked ``done`` is checked strictly: each function imports by its dotted path, each
test is a ``def test_…`` in its file, and the notebook exists and calls each function by name.
Rows marked ``planned`` (code not landed yet) are counted and reported in a warning, and a
planned row whose parts all exist is reported as ready to be marked done."""

from __future__ import annotations

import importlib
import re
import warnings
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
HEADER = ["equation", "function", "test", "notebook", "status"]
# The rows done: all 34 since notebook 03 (26 of 32 when the map was written). The count may
# only grow; a map that checks fewer rows has lost some.
MINIMUM_DONE_ROWS = 34


class Row(NamedTuple):
    line: int
    equation: str
    functions: list[str]
    tests: list[str]
    notebooks: list[str]
    status: str


def cells(line: str) -> list[str]:
    """The cells of a markdown table row; ``\\|`` is a literal bar inside a cell."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def parse_map(text: str) -> list[Row]:
    """The rows of every table whose header is HEADER (other tables are skipped)."""
    rows: list[Row] = []
    in_map = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("|"):
            in_map = False
            continue
        row = cells(line)
        if row == HEADER:
            in_map = True
        elif in_map and not all(re.fullmatch(r":?-+:?", cell) for cell in row):
            assert len(row) == len(HEADER), f"theory.md line {number}: {len(row)} cells: {line}"
            equation, functions, tests, notebooks, status = row
            rows.append(Row(
                number,
                equation,
                re.findall(r"`([^`]+)`", functions),
                re.findall(r"`([^`]+)`", tests),
                re.findall(r"\]\(\.\./notebooks/([^)]+)\)", notebooks),
                status,
            ))
    return rows


def resolve(dotted: str) -> object:
    """Import the longest importable prefix of ``dotted`` and get the rest as attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(f"no module in {dotted!r}")


def problems(row: Row) -> list[str]:
    """What the row names but does not exist; empty when the row holds."""
    found = []
    if not (row.functions and row.tests and len(row.notebooks) == 1):
        found.append("a row names one or more functions and tests, and one notebook")
    for dotted in row.functions:
        try:
            if not callable(resolve(dotted)):
                found.append(f"{dotted} is not callable")
        except (ImportError, AttributeError) as error:
            found.append(f"{dotted} does not resolve: {error}")
    for test in row.tests:
        path, _, name = test.partition("::")
        source = ROOT / path
        if not re.fullmatch(r"tests/test_\w+\.py", path) or not name:
            found.append(f"{test} is not tests/test_<module>.py::test_<name>")
        elif not source.is_file():
            found.append(f"{path} does not exist")
        elif not re.search(rf"^def {re.escape(name)}\(", source.read_text(), re.MULTILINE):
            found.append(f"{path} has no def {name}(")
    for notebook in row.notebooks:
        path = ROOT / "notebooks" / notebook
        if not path.is_file():
            found.append(f"notebooks/{notebook} does not exist")
            continue
        code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells
                         if cell.cell_type == "code")
        for dotted in row.functions:
            if not re.search(rf"\b{re.escape(dotted.rsplit('.', 1)[-1])}\b", code):
                found.append(f"notebooks/{notebook} never uses {dotted}")
    return found


ROWS = parse_map(THEORY.read_text())
DONE = [row for row in ROWS if row.status == "done"]
PLANNED = [row for row in ROWS if row.status == "planned"]


def test_every_row_is_done_or_planned_and_enough_are_done():
    assert [row.status for row in ROWS if row.status not in ("done", "planned")] == []
    assert len(DONE) >= MINIMUM_DONE_ROWS, f"only {len(DONE)} rows are checked"
    equations = [row.equation for row in ROWS]
    assert len(set(equations)) == len(equations), "an equation appears twice"


@pytest.mark.parametrize("row", DONE, ids=[f"line{row.line}" for row in DONE])
def test_done_row_points_at_code_tests_and_notebook_that_exist(row):
    assert problems(row) == [], f"theory.md line {row.line}: {row.equation}"


def test_every_notebook_is_on_the_map():
    mapped = {notebook for row in ROWS for notebook in row.notebooks}
    on_disk = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
    assert on_disk - mapped == set()


def test_planned_rows_are_reported():
    assert len(PLANNED) + len(DONE) == len(ROWS)
    ready = [row.line for row in PLANNED if not problems(row)]
    if PLANNED:
        warnings.warn(
            f"theory map: {len(PLANNED)} of {len(ROWS)} rows planned (lines "
            f"{', '.join(str(row.line) for row in PLANNED)}); all parts exist for lines "
            f"{ready or 'none'}: mark those done",
            UserWarning,
            stacklevel=1,
        )


def test_the_checks_catch_what_is_missing():
    # A map test that cannot fail is no test: feed it a row where every part is wrong.
    row = Row(0, "x", ["rlbasics.probability.no_such_function", "rlbasics.no_such_module.f"],
              ["tests/test_probability.py::test_no_such_test", "tests/test_nowhere.py::test_x"],
              ["00_no_such_notebook.ipynb"], "done")
    assert len(problems(row)) == 5
    table = (
        "| equation | function | test | notebook | status |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| P(A\\|B) | `m.f` | `tests/test_m.py::test_f` | [04](../notebooks/04_a.ipynb) | done |\n"
    )
    assert parse_map(table) == [
        Row(3, "P(A\\|B)", ["m.f"], ["tests/test_m.py::test_f"], ["04_a.ipynb"], "done")
    ]
    uses_it = Row(0, "x", ["rlbasics.probability.bayes_rule"],
                  ["tests/test_probability.py::test_bayes_rule_on_the_rare_disease"],
                  ["05_backprop_gd_newton.ipynb"], "done")
    assert problems(uses_it) == [
        "notebooks/05_backprop_gd_newton.ipynb never uses rlbasics.probability.bayes_rule"
    ]
