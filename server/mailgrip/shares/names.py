"""Display names of uploaded files: safe to show, store and put in a download header.

A display name is only shown and sent back in ``Content-Disposition``. File bytes live under
random storage keys, so no name can reach the file system.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_NAME = "file"
MAX_NAME_BYTES = 255  # the limit of common file systems (ext4, NTFS, APFS) for one name
# A suffix longer than this is not treated as an extension when a long name is shortened.
MAX_EXTENSION_CHARS = 16

# Bidirectional overrides and isolates can make "invoice‮fdp.exe" display as "invoiceexe.pdf".
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_PATH_SEPARATORS = re.compile(r"[/\\]")


def clean_name(raw: str | None) -> str:
    """Return the display name for a file name as a client sent it.

    The result is NFC-normalised, has no control or bidirectional-override characters, no
    directory part (``/`` and ``\\`` both count as separators), is not empty, ``.`` or ``..``,
    and fits in ``MAX_NAME_BYTES`` bytes of UTF-8 with its extension kept.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = "".join(char for char in name if not _is_hidden_control(char))
    name = _PATH_SEPARATORS.split(name)[-1]
    name = name.strip()
    if not name.strip("."):
        return DEFAULT_NAME
    return _shorten(name, MAX_NAME_BYTES)


def unique_names(names: list[str]) -> list[str]:
    """Number repeated names the way desktop file managers do: ``a.jpg``, ``a (1).jpg``, …

    Names compare case-insensitively, because the recipient may save them into a folder on
    Windows or macOS, where ``A.jpg`` and ``a.jpg`` are the same file.
    """
    taken: set[str] = set()
    result: list[str] = []
    for name in names:
        candidate = name
        number = 0
        while candidate.casefold() in taken:
            number += 1
            stem, extension = split_extension(name)
            suffix = f" ({number})"
            candidate = _shorten(stem + suffix + extension, MAX_NAME_BYTES, keep=suffix)
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def split_extension(name: str) -> tuple[str, str]:
    """Split ``report.final.pdf`` into ``("report.final", ".pdf")``; no extension gives ``""``."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS or " " in extension:
        return name, ""
    return stem, "." + extension


def _is_hidden_control(char: str) -> bool:
    # Category Cc covers NUL, CR, LF, TAB, DEL and the C1 controls.
    return unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS


def _shorten(name: str, max_bytes: int, keep: str = "") -> str:
    """Cut the stem of ``name`` so that it fits in ``max_bytes``, keeping the extension.

    ``keep`` is a suffix of the stem (a copy number) that survives the cut.
    """
    if len(name.encode()) <= max_bytes:
        return name
    stem, extension = split_extension(name)
    if keep and stem.endswith(keep):
        stem = stem[: -len(keep)]
    budget = max_bytes - len((keep + extension).encode())
    # Cutting bytes may split a character; errors="ignore" drops the broken tail.
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip()
    return stem + keep + extension
