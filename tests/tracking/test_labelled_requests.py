"""Precision and recall of the classifier on requests labelled from public reports.

``labelled_requests.json`` was written before the classifier was run on it. Its ``held_out``
part was never used to adjust a rule, so its score shows how the rules do on requests they
were not shaped by. Run with ``pytest -s`` to see the table.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mailgrip.tracking.classify import LABELS, PERSON, classify
from mailgrip.tracking.signals import RequestFacts

SET_PATH = Path(__file__).with_name("labelled_requests.json")
REQUIRED_ACCURACY = 0.95
MIN_REQUESTS = 60


def load_requests() -> list[dict]:
    return json.loads(SET_PATH.read_text(encoding="utf-8"))["requests"]


def facts_of(row: dict) -> RequestFacts:
    return RequestFacts(
        kind=row["kind"],
        method=row["method"],
        user_agent=row["user_agent"],
        ip_prefix=row["ip_prefix"],
        seconds_since_delivery=row["seconds_since_delivery"],
        recent_requests=row["recent_requests"],
        script_ran=row["script_ran"],
    )


def label_all(rows: list[dict]) -> list[tuple[dict, str]]:
    return [(row, classify(facts_of(row)).label) for row in rows]


def score_table(results: list[tuple[dict, str]]) -> tuple[str, float]:
    """Return a text table of precision and recall per label, and the share labelled right."""
    expected = Counter(row["expected"] for row, _ in results)
    predicted = Counter(label for _, label in results)
    correct = Counter(label for row, label in results if label == row["expected"])
    header = ("label", "expected", "labelled", "right", "precision", "recall")
    lines = ["{:<9}{:>9}{:>9}{:>7}{:>11}{:>8}".format(*header)]
    for label in LABELS:
        if not expected[label] and not predicted[label]:
            continue
        precision = correct[label] / predicted[label] if predicted[label] else float("nan")
        recall = correct[label] / expected[label] if expected[label] else float("nan")
        lines.append(f"{label:<9}{expected[label]:>9}{predicted[label]:>9}{correct[label]:>7}"
                     f"{precision:>11.2f}{recall:>8.2f}")
    accuracy = sum(correct.values()) / len(results)
    lines.append(f"right: {sum(correct.values())} of {len(results)} ({accuracy:.1%})")
    return "\n".join(lines), accuracy


@pytest.fixture(scope="module")
def results() -> list[tuple[dict, str]]:
    return label_all(load_requests())


def test_set_is_large_and_cited():
    rows = load_requests()
    held_out = [row for row in rows if row["part"] == "held_out"]
    assert len(rows) >= MIN_REQUESTS
    assert len(held_out) >= 0.2 * len(rows)
    assert all(row["source"] for row in rows)
    assert {row["expected"] for row in rows} == {"person", "proxy", "scanner"}


def test_scores_printed_and_attached(results, record_testsuite_property):
    report = []
    for part in ("development", "held_out"):
        table, _ = score_table([(row, label) for row, label in results if row["part"] == part])
        report.append(f"[{part}]\n{table}")
    table, _ = score_table(results)
    report.append(f"[whole set]\n{table}")
    text = "\n\n".join(report)
    print("\n" + text)
    # Attached to the JUnit XML report (``--junitxml``) as a property of the test suite.
    record_testsuite_property("labelled_request_scores", text)
    assert "precision" in text


def test_no_machine_download_counts_as_person(results):
    wrong = [row["id"] for row, label in results
             if row["expected"] in ("scanner", "proxy") and label == PERSON]
    assert wrong == []


def test_whole_set_mostly_right(results):
    _, accuracy = score_table(results)
    misses = [(row["id"], row["expected"], label) for row, label in results
              if label != row["expected"]]
    assert accuracy >= REQUIRED_ACCURACY, misses
