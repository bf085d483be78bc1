"""The CJK font every PDF embeds, found on this machine: a document is never made with
boxes for Chinese characters; without a font the caller is told which package to install."""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ledger.domain.errors import LedgerError

PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Serif CJK SC", "WenQuanYi")
"""Families in order of preference (Simplified Chinese first); any other font fontconfig
says covers Chinese comes after them."""
FC_LIST_FORMAT = "%{file}|%{index}|%{family}|%{style}\n"


class FontMissing(LedgerError):
    code = "FONT_MISSING"
    template = (
        "本机没有中文字体,无法生成文档。请安装 fonts-noto-cjk"
        "(Debian/Ubuntu:apt-get install fonts-noto-cjk)后重试"
    )


@dataclass(frozen=True)
class FontFile:
    path: Path
    index: int  # the face in a font collection (.ttc)
    family: str


def _rank(family: str) -> int:
    return next((i for i, p in enumerate(PREFERRED) if family == p), len(PREFERRED))


def choose_font(listing: str) -> FontFile:
    """The best face in ``fc-list :lang=zh`` output (``FC_LIST_FORMAT``): a preferred
    family's regular face, else any face with Chinese; FontMissing if there is none."""
    faces: list[tuple[int, bool, str, int, str]] = []
    for line in listing.splitlines():
        parts = line.split("|")
        if len(parts) != 4 or not parts[0]:
            continue
        path, index, families, style = parts
        if Path(path).suffix.lower() not in (".ttf", ".otf", ".ttc", ".otc"):
            continue
        family = families.split(",")[0]
        bold = "Bold" in style.split(",")
        faces.append((_rank(family), bold, path, int(index or 0), family))
    regular = [f for f in faces if not f[1]] or faces
    if not regular:
        raise FontMissing()
    best = min(regular)
    return FontFile(Path(best[2]), best[3], best[4])


@functools.cache
def cjk_font() -> FontFile:
    """This machine's CJK font (looked up once per process)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise FontMissing()
    listing = subprocess.run(
        [fc_list, ":lang=zh", "--format", FC_LIST_FORMAT],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    found = choose_font(listing)
    if not found.path.is_file():
        raise FontMissing()
    return found
