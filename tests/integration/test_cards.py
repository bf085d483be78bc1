"""`ledger cards issue`: a community's residents get cards whose codes the ledger knows
only by their keyed hash, laid out for printing on A4."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import Context, MemberKind, Role

ADMIN = Context(actor_id="test", role=Role.ADMIN)
KEY = "ab" * 32


def test_a_community_gets_printable_cards_that_a_kiosk_recognises(
    database_url: str, tmp_path: Path
) -> None:
    ledger = Ledger(eventsourcing_env(database_url), id_hash_key=bytes.fromhex(KEY))
    try:
        street = ledger.register_street("卡片街道", ADMIN).id
        home = ledger.register_community(street, "卡片社区", ADMIN).id
        elsewhere = ledger.register_community(street, "别处社区", ADMIN).id
        residents = {
            ledger.register_member(MemberKind.RESIDENT, name, home, ADMIN).id
            for name in ("赵一", "钱二")
        }
        ledger.register_member(MemberKind.RESIDENT, "孙三", elsewhere, ADMIN)
        out = tmp_path / "cards.html"
        env = {**os.environ, "DATABASE_URL": database_url, "LEDGER_ID_HASH_KEY": KEY}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "entrypoints.cli",
                "cards",
                "issue",
                "--community",
                str(home),
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "已发放 2 张积分卡" in done.stdout
        page = out.read_text(encoding="utf-8")
        assert page.count("<svg") == 2 and "卡片社区" in page and "赵*" in page
        assert "孙" not in page
        codes = re.findall(r'<p class="code">([A-Z0-9]+)</p>', page)
        ledger.loader.forget()  # the cards were issued by another process
        holders = {
            member
            for code in codes
            for member in residents
            if ledger.get_member(member).card_hash == ledger.read_code(code).code_hash
        }
        assert holders == residents
    finally:
        ledger.close()
