"""Printable documents (A4, Chinese): 评先评优 evidence dossiers, the annual letters and
喜报 to units, service certificates, and the lists of a selection round.

Each document is made on the server from the read models (and, for a certificate, from
the ledger's own event), as PDF with an embedded CJK font and, where offices work in
Excel, as XLSX. This package depends inward only (``ledger``, ``projections``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


UNSAFE_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
"""What no file system (Windows' included) accepts in a file's name."""


def file_name(*parts: object, extension: str) -> str:
    """A document's suggested file name: its parts joined by "-", each made safe to
    save anywhere (what a file system refuses becomes "_"), e.g. 喜报-2026-第6社区.pdf."""
    text = "-".join(UNSAFE_IN_FILE_NAMES.sub("_", str(part)).strip(" .") for part in parts)
    return f"{text}.{extension}"


@dataclass(frozen=True)
class Document:
    """A made document: its suggested file name, media type and bytes."""

    filename: str
    media_type: str
    content: bytes


__all__ = ["PDF", "XLSX", "Document", "file_name"]
