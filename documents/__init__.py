"""Printable documents (A4, Chinese): 评先评优 evidence dossiers, the annual letters and
喜报 to units, service certificates, and the lists of a selection round.

Each document is made on the server from the read models (and, for a certificate, from
the ledger's own event), as PDF with an embedded CJK font and, where offices work in
Excel, as XLSX. This package depends inward only (``ledger``, ``projections``).
"""

from __future__ import annotations

from dataclasses import dataclass

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Document:
    """A made document: its suggested file name, media type and bytes."""

    filename: str
    media_type: str
    content: bytes


__all__ = ["PDF", "XLSX", "Document"]
