"""Comparison form of recipient addresses."""

import pytest

from mailgrip.mirror.addresses import address_key


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("bob@Müller.example", "bob@xn--mller-kva.example"),
        ("  carol@example.org ", "carol@EXAMPLE.org."),
        ("Team Sales", "team sales"),
    ],
)
def test_address_key_spellings_match(first, second):
    assert address_key(first) == address_key(second)


def test_address_key_other_domain_differs():
    assert address_key("alice@example.com") != address_key("alice@example.org")


def test_address_key_invalid_idna_still_compares():
    assert address_key("x@Under_Score.Example") == "x@under_score.example"
