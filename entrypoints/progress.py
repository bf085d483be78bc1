"""Progress on standard error, for the long commands (rebuild, import, demo)."""

from __future__ import annotations

import sys


class ProgressBar:
    """[#####     ]  50%  100,000/200,000 — redrawn in place on standard error."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * int(share * self.width)
        print(
            f"\r{self.label} [{bar:<{self.width}}] {share:4.0%} {done:,}/{total:,}",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done >= total:
            print(file=sys.stderr)
