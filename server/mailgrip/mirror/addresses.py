"""Comparison form of mail addresses, so one person is one recipient however they are spelled."""

from __future__ import annotations

import idna


def address_key(address: str) -> str:
    """Return the form in which two spellings of one address compare equal.

    The domain becomes lower-case ASCII (IDNA/punycode, so ``müller.example`` and
    ``xn--mller-kva.example`` match); the local part compares case-insensitively, which is
    how Exchange treats it even though RFC 5321 lets a server tell cases apart.
    """
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        # No domain: an X.500 or distribution-list name, compared as a whole.
        return address.casefold()
    return f"{local.casefold()}@{_ascii_domain(domain)}"


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".")
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        # Not a valid IDNA name (underscores, odd labels): still compare it case-insensitively.
        return domain.lower()
