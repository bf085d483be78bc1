"""How many rows a page may hold: the one cap every read function applies."""

from __future__ import annotations

MAX_PAGE = 200


def page_size(first: int) -> int:
    """What a client asked for, between one row and ``MAX_PAGE``."""
    return min(max(first, 1), MAX_PAGE)
