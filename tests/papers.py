"""Reading made documents back as documents: a PDF's text with poppler's pdftotext, a
page rendered to PNG with pdftoppm (kept under build/screenshots/ to look at), an XLSX
with openpyxl."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"找不到 {name}:文档测试需要 Debian 的 poppler-utils"
            "(apt-get install poppler-utils;.ci/run 会安装)"
        )
    return path


def pdf_text(content: bytes, *, layout: bool = True) -> str:
    args = [tool("pdftotext"), *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(args, input=content, capture_output=True, check=True).stdout.decode()


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page (pdftotext separates pages by a form feed)."""
    return pdf_text(content).split("\f")[:-1]


def page_count(content: bytes) -> int:
    info = subprocess.run(
        [tool("pdfinfo"), "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
    return int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])


def pdf_page(content: bytes, number: int) -> str:
    """The text of page ``number`` alone (``pdftotext -f N -l N``), laid out."""
    args = [tool("pdftotext"), "-layout", "-f", str(number), "-l", str(number), "-", "-"]
    return subprocess.run(args, input=content, capture_output=True, check=True).stdout.decode()


def footer(page: str) -> tuple[str, int]:
    """A page's footer (its last line of text) without its page number, and that number."""
    *_, last = (line.strip() for line in page.splitlines() if line.strip())
    text, _, number = last.rpartition("第 ")
    return text.strip(), int(number.removesuffix("页").strip())


def picture(content: bytes, name: str, page: int = 1) -> Path:
    """Page ``page`` rendered at 80 dpi to build/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pdf = SCREENSHOTS / f"{name}.pdf"
    pdf.write_bytes(content)
    subprocess.run(
        [
            tool("pdftoppm"),
            "-png",
            "-r",
            "80",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(SCREENSHOTS / name),
        ],
        check=True,
    )
    pdf.unlink()
    return SCREENSHOTS / f"{name}.png"


def workbook(content: bytes) -> Any:
    return load_workbook(io.BytesIO(content))


def fonts(content: bytes) -> str:
    """pdffonts' listing: which fonts are embedded."""
    return subprocess.run(
        [tool("pdffonts"), "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
