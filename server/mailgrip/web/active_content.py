"""Recognising files that a browser could render as a document and run script in.

A file counts as active when its declared media type is HTML, XML, SVG, script or multipart,
or when its first bytes look like HTML or XML to the content sniffing of the WHATWG MIME
Sniffing standard (section 7.1, "identifying a resource with an unknown MIME type").
"""

from __future__ import annotations

import re

# How much of a file sniffing looks at; the standard reads at most 1445 bytes.
SNIFF_BYTES = 1445
_ACTIVE_TYPE = re.compile(r"html|xml|svg|javascript|ecmascript|^multipart/")
# The standard's HTML patterns: a tag name, then a space or ">" (its "tag-terminating byte").
_HTML_TAGS = (
    b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div", b"<font",
    b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p", b"<!--",
)
_WHITESPACE = b"\t\n\x0c\r "
# Byte order marks of UTF-8, UTF-16 BE and UTF-16 LE.
_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")


def is_active_type(content_type: str) -> bool:
    """Return whether a declared media type is one that browsers render as a document."""
    return bool(_ACTIVE_TYPE.search(content_type.lower()))


def sniffs_as_markup(head: bytes) -> bool:
    """Return whether a browser's sniffing would take these first bytes for HTML or XML.

    SVG is XML, and an ``<svg`` element without an XML declaration is matched too, because
    some browsers render it from a file opened locally.
    """
    for mark in _BYTE_ORDER_MARKS:
        if head.startswith(mark):
            head = head[len(mark):]
            break
    text = head.lstrip(_WHITESPACE).lower()
    if text.startswith((b"<?xml", b"<svg")):
        return True
    for tag in _HTML_TAGS:
        if text.startswith(tag) and text[len(tag):len(tag) + 1] in (b" ", b">"):
            return True
    return False
