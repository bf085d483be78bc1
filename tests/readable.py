"""What a member, clerk, worker or unit office reads holds no id and no English: one check for
documents, receipts and pages alike."""

from __future__ import annotations

import re

UUID_PATTERN = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
ASCII_WORD = re.compile(r"[A-Za-z]+")
ALLOWED_WORDS = frozenset({"SHA", "mm", "A", "QR"})
"""内容摘要(SHA-256) names the digest's algorithm, which a checker needs to recompute it; paper
sizes are written 58mm, 80mm and A4 on every printer's menu; 二维码 is the word in Chinese, QR
the one printed under it on kiosks."""


def unreadable(text: str) -> list[str]:
    """The ids and the English words in ``text`` (empty when people can read it all)."""
    found = UUID_PATTERN.findall(text)
    words = sorted(set(ASCII_WORD.findall(UUID_PATTERN.sub("", text))) - ALLOWED_WORDS)
    return found + words
