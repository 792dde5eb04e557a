"""Display names of uploaded files: hostile input, Unicode, length and repeats."""

from __future__ import annotations

import pytest

from mailgrip.shares.names import MAX_NAME_BYTES, clean_name, split_extension, unique_names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\win.ini", "win.ini"),
        ("a\x00b.txt", "ab.txt"),
        ("a\r\nb.txt", "ab.txt"),
        ("tab\there.txt", "tabhere.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("..", "file"),
        (".", "file"),
        ("...", "file"),
        ("", "file"),
        (None, "file"),
        ("folder/", "file"),
        ("folder/..", "file"),
        ("  spaced name.txt  ", "spaced name.txt"),
        ("报告 2024 – Müller.pdf", "报告 2024 – Müller.pdf"),
        ("Mu\u0308ller.pdf", "M\u00fcller.pdf"),
        (".bashrc", ".bashrc"),
        ("👩‍💻 notes.md", "👩‍💻 notes.md"),
    ],
)
def test_clean_name_table(raw, expected):
    assert clean_name(raw) == expected


def test_clean_name_caps_bytes_keeping_extension():
    name = clean_name("a" * 400 + ".pdf")

    assert len(name.encode()) == MAX_NAME_BYTES
    assert name.endswith(".pdf")


def test_clean_name_cuts_on_character_boundary():
    name = clean_name("报" * 200 + ".docx")

    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith(".docx")
    assert name.startswith("报" * 80)


def test_unique_names_number_repeats():
    assert unique_names(["image.jpg", "image.jpg", "other.jpg", "image.jpg"]) == [
        "image.jpg",
        "image (1).jpg",
        "other.jpg",
        "image (2).jpg",
    ]


def test_unique_names_ignore_case():
    assert unique_names(["Report.PDF", "report.pdf"]) == ["Report.PDF", "report (1).pdf"]


def test_unique_names_without_extension():
    assert unique_names(["README", "README"]) == ["README", "README (1)"]


def test_unique_names_skip_taken_number():
    assert unique_names(["a (1).txt", "a.txt", "a.txt"]) == ["a (1).txt", "a.txt", "a (2).txt"]


def test_unique_names_stay_within_limit():
    long = clean_name("x" * 300 + ".txt")

    first, second = unique_names([long, long])

    assert len(second.encode()) <= MAX_NAME_BYTES
    assert second.endswith(" (1).txt")
    assert first != second


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("report.final.pdf", ("report.final", ".pdf")),
        ("archive.tar.gz", ("archive.tar", ".gz")),
        ("README", ("README", "")),
        (".bashrc", (".bashrc", "")),
        ("notes.this is not an extension", ("notes.this is not an extension", "")),
    ],
)
def test_split_extension_table(name, parts):
    assert split_extension(name) == parts
