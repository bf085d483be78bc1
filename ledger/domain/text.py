"""Text from outside, made fit to keep: one check for every name, title, reason and key.

``clean_text`` normalises to NFC, strips surrounding white space and refuses what
PostgreSQL, JSON or a reader cannot hold or would be misled by:

- C0 and C1 control characters (NUL included) and DEL. A single-line field (a name,
  a title, an item of evidence) admits none; free text (``multiline=True``: a
  description, a reason, a comment, a note) keeps line breaks and tabs, with
  ``\\r\\n`` and ``\\r`` made ``\\n``;
- the line and paragraph separators U+2028 and U+2029 in a single-line field;
- lone surrogates (U+D800 to U+DFFF), which no encoding can write;
- noncharacters (U+FDD0 to U+FDEF and the last two code points of every plane);
- bidirectional embedding, override and isolate controls (U+202A to U+202E,
  U+2066 to U+2069), which make a name read differently from what it is.

Text with nothing visible in it (only spaces, zero-width and other format characters,
lone combining marks, Hangul fillers, the blank braille pattern) counts as empty: a
description of zero-width spaces says nothing.

Identifiers (kiosk and device ids, request keys) are machine-made: they are matched
exactly against ``limits.IDENTIFIER_PATTERN`` and never normalised, so the same key
always names the same request.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ledger.domain.errors import (
    EmptyText,
    ForbiddenCharacter,
    InvalidIdentifier,
    InvalidText,
    TextTooLong,
    TooManyItems,
)
from ledger.domain.limits import IDENTIFIER, IDENTIFIER_PATTERN

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17)
)
_ALWAYS_FORBIDDEN = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and line feed, DEL, C1
    "\ud800-\udfff"  # surrogates
    "\u202a-\u202e\u2066-\u2069"  # bidirectional controls
) + _NONCHARACTERS
_FORBIDDEN_MULTILINE = re.compile(f"[{_ALWAYS_FORBIDDEN}]")
_FORBIDDEN_SINGLE_LINE = re.compile(f"[{_ALWAYS_FORBIDDEN}\t\n\u2028\u2029]")
_SPACE = " \t\n\r\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\ufeff"
_SURROUNDING_SPACE = re.compile(f"\\A[{_SPACE}]+|[{_SPACE}]+\\Z")
_NEWLINES = re.compile(r"\r\n?")
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_SLACK = 4
"""NFC composes at most a few code points into one, so text this many times longer
than its limit is refused before it is normalised."""


def clean_text(
    value: object,
    field: str,
    max_length: int,
    *,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """The text, NFC-normalised and stripped, or an ``InvalidText`` naming ``field``.

    ``required=False`` lets empty text through as ``""``.
    """
    if not isinstance(value, str):
        raise InvalidText(field=field, reason="须为文本")
    if len(value) > _SLACK * max_length + 16:
        raise TextTooLong(field=field, limit=max_length, length=len(value))
    forbidden = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_SINGLE_LINE
    if multiline:
        value = _NEWLINES.sub("\n", value)
    text = _SURROUNDING_SPACE.sub("", unicodedata.normalize("NFC", value))
    bad = forbidden.search(text)
    if bad is not None:
        raise ForbiddenCharacter(field=field, character=f"U+{ord(bad.group()):04X}")
    if not _visible(text):
        if required:
            raise EmptyText(field=field)
        text = ""
    if len(text) > max_length:
        raise TextTooLong(field=field, limit=max_length, length=len(text))
    return text


def _visible(text: str) -> bool:
    """Whether the text has a letter, digit, punctuation mark or symbol (what shows);
    the Hangul fillers and the blank braille pattern are letters or symbols that show
    nothing."""
    return any(unicodedata.category(c)[0] in "LNPS" and c not in _BLANK_GLYPHS for c in text)


def clean_optional(value: str | None, field: str, max_length: int) -> str | None:
    """Optional single-line text: None, or blank, is None; anything else as ``clean_text``."""
    if value is None:
        return None
    return clean_text(value, field, max_length, required=False) or None


def clean_items(values: Sequence[str], field: str, max_items: int, max_length: int) -> list[str]:
    """A list of single-line texts, each required, at most ``max_items`` of them."""
    if isinstance(values, str):  # a string is a sequence too, of its characters
        raise InvalidText(field=field, reason="须为文本的列表")
    if len(values) > max_items:
        raise TooManyItems(field=field, limit=max_items, count=len(values))
    return [clean_text(v, f"{field}第 {i} 项", max_length) for i, v in enumerate(values, 1)]


def clean_identifier(value: object, field: str) -> str:
    """A machine-made identifier, exactly as given: ASCII letters, digits and ``._:-``."""
    if not isinstance(value, str) or not IDENTIFIER_PATTERN.fullmatch(value):
        raise InvalidIdentifier(field=field, limit=IDENTIFIER)
    return value


_DIGIT_RUNS = re.compile(r"(\d+)", re.ASCII)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """The order people expect of names with numbers in them: runs of digits compare as
    numbers, so 第2社区 comes before 第10社区 (a text sort puts 第10 before 第2)."""
    return tuple(
        (0, int(part)) if n % 2 else (1, part)
        for n, part in enumerate(_DIGIT_RUNS.split(text))
        if part
    )
