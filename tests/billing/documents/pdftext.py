"""Reading a stored document back as text: the strings each page draws, in drawing order."""

from __future__ import annotations

import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_SHOWN = re.compile(rb"\(((?:[^()\\]|\\.)*)\) Tj")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"(": b"(", b")": b")", b"\\": b"\\"}


def page_strings(pdf: bytes) -> list[list[str]]:
    """Each page's text runs (one compressed content stream per page), decoded from Windows-1252."""
    pages = []
    for match in _STREAM.finditer(pdf):
        try:
            content = zlib.decompress(match.group(1))
        except zlib.error:
            continue
        runs = [
            re.sub(rb"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), raw)
            for raw in _SHOWN.findall(content)
        ]
        pages.append([run.decode("windows-1252") for run in runs])
    return pages


def pdf_text(pdf: bytes) -> str:
    """All the text of the document, runs separated by single spaces."""
    return " ".join(run for page in page_strings(pdf) for run in page)
