"""The importer against every roadmap in tests/data, row by row, with precision and recall.

Each document ``X`` has ``X.expected.json`` written by reading the document (not by dumping
the parser's output): per activity row in the document's order, the start of its title and
its kind, months, recurrence and whether it goes into reservists' plans. Parsed activities are
matched to expected rows in order by title prefix. For every field, precision is the share of
parsed activities that match an expected row with that field right, recall the share of
expected rows found with that field right ("rows" counts the matching alone: rows cut right).
The test fails below 100 % on these documents; run with ``-s`` to see the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.services.roadmap import ParsedActivity, parse_roadmap_file

DATA = Path(__file__).parent / "data"
EXPECTED = sorted(DATA.glob("*.expected.json"))
FIELDS = ("kind", "months", "recurrence", "for_reservists")


def _norm(text: str) -> str:
    return " ".join(text.replace("ё", "е").split())


def _value(activity: ParsedActivity, name: str) -> object:
    if name == "kind":
        return activity.kind.value
    if name == "months":
        return list(activity.schedule.months)
    if name == "recurrence":
        return activity.schedule.recurrence.value
    return activity.for_reservists


@dataclass
class Score:
    """Counts over one or more documents: matched rows and right fields."""

    parsed: int = 0
    expected: int = 0
    right: dict[str, int] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.parsed += other.parsed
        self.expected += other.expected
        for name, count in other.right.items():
            self.right[name] = self.right.get(name, 0) + count
        self.misses.extend(other.misses)

    def figures(self) -> dict[str, tuple[float, float]]:
        """(precision, recall) in % per field, "rows" first."""
        return {
            name: (
                100.0 * self.right.get(name, 0) / self.parsed if self.parsed else 100.0,
                100.0 * self.right.get(name, 0) / self.expected if self.expected else 100.0,
            )
            for name in ("rows", *FIELDS)
        }

    def table(self, title: str) -> str:
        lines = [f"{title}: {self.parsed} parsed, {self.expected} expected"]
        for name, (precision, recall) in self.figures().items():
            lines.append(f"  {name:<15} precision {precision:6.1f} %   recall {recall:6.1f} %")
        lines.extend(f"  miss: {miss}" for miss in self.misses)
        return "\n".join(lines)


def score(activities: Sequence[ParsedActivity], rows: Sequence[dict[str, Any]]) -> Score:
    """Match ``activities`` to expected ``rows`` in order by title prefix and count."""
    result = Score(parsed=len(activities), expected=len(rows))
    position = 0
    for row in rows:
        prefix = _norm(row["title"])
        found = next(
            (
                index
                for index in range(position, len(activities))
                if _norm(activities[index].title).startswith(prefix)
            ),
            None,
        )
        if found is None:
            result.misses.append(f"row not found: {row['title']!r}")
            continue
        activity = activities[found]
        position = found + 1
        result.right["rows"] = result.right.get("rows", 0) + 1
        for name in FIELDS:
            got = _value(activity, name)
            if got == row[name]:
                result.right[name] = result.right.get(name, 0) + 1
            else:
                result.misses.append(
                    f"{name} of {row['title'][:50]!r}: {got!r}, not {row[name]!r}"
                )
    return result


def _documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in EXPECTED:
        yield path, json.loads(path.read_text(encoding="utf-8"))


def _score_of(path: Path, expected: dict[str, Any]) -> Score:
    result = parse_roadmap_file(path.parent / expected["document"])
    return score(result.activities, expected["rows"])


def test_every_document_has_an_expected_file() -> None:
    documents = {p.name for p in DATA.iterdir() if p.suffix in {".txt", ".docx"}}
    covered = {data["document"] for _, data in _documents()}
    assert documents == covered
    assert len(covered) >= 5  # the three seeds and the two documents written for the tests


@pytest.mark.parametrize("path", EXPECTED, ids=[p.name.split(".")[0] for p in EXPECTED])
def test_document_rows_and_fields_are_all_right(path: Path) -> None:
    expected = json.loads(path.read_text(encoding="utf-8"))
    result = _score_of(path, expected)
    figures = result.figures()
    assert all(p == 100.0 and r == 100.0 for p, r in figures.values()), result.table(path.name)


def test_corpus_figures(capsys: pytest.CaptureFixture[str]) -> None:
    total = Score()
    report = []
    for path, expected in _documents():
        one = _score_of(path, expected)
        report.append(one.table(expected["document"]))
        total.add(one)
    report.append(total.table("all documents"))
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert all(p == 100.0 and r == 100.0 for p, r in total.figures().values())


def test_score_counts_misses() -> None:
    """The scoring itself: a missing row, a wrong kind and an extra activity."""
    from bot.services.roadmap import parse_roadmap_text  # noqa: PLC0415

    activities = parse_roadmap_text(
        "Мероприятия\tСроки\nТренинг для резерва\tмарт\nЛишняя строка\tмай\n"
    ).activities
    rows = [
        {
            "title": "Тренинг",
            "kind": "seminar",
            "months": [3],
            "recurrence": "yearly",
            "for_reservists": True,
        },
        {
            "title": "Пропавшая",
            "kind": "other",
            "months": [],
            "recurrence": "yearly",
            "for_reservists": False,
        },
    ]
    figures = score(activities, rows).figures()
    assert figures["rows"] == (50.0, 50.0)
    assert figures["kind"] == (0.0, 0.0)
    assert figures["months"] == (50.0, 50.0)


def test_lesnoy_docx_is_what_its_script_builds() -> None:
    """The committed .docx is the output of tests/data/make_lesnoy_docx.py, and its shapes
    (merged section rows, the header typed again, a second table after a page break) read."""
    import importlib.util  # noqa: PLC0415

    from bot.services.roadmap import parse_roadmap_docx  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("make_lesnoy", DATA / "make_lesnoy_docx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = parse_roadmap_docx(module.build())
    committed = parse_roadmap_file(DATA / "lesnoy-roadmap-2024.docx")
    assert built == committed
    assert (committed.tables, committed.rows, committed.warnings) == (2, 15, ())
    sections = [a.section for a in committed.activities]
    assert sections[4] == "2. Подготовка лиц, включённых в кадровый резерв"  # «2.» + merged text
    # the second table (after the page break) keeps the section it continues
    assert sections[9] == sections[10] == sections[4]
    assert sections[11] == "Раздел 3. Мониторинг эффективности работы с резервом"
    # the responsible cell merged down over two rows belongs to both
    assert committed.activities[5].responsible == committed.activities[6].responsible
