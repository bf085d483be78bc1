"""Importing a street's past service records: same rules, nothing twice, bad rows reported."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from ledger.application import Ledger
from ledger.domain.member import hash_national_id, member_id_for
from ledger.importer import import_services, read_rows

HEADER = "记录编号,姓名,身份证号,手机,类别,单位,社区,街道,服务类别,日期,开始,结束,时长,评价"
ROWS = [
    "R1,张三,110105198001010011,13800000001,党员,区财政局,果园社区,果园街道,应急保障,2025-06-01,09:00,11:00,,很好",
    "R2,张三,110105198001010011,13800000001,党员,区财政局,果园社区,果园街道,巡逻,2025-06-02,09:00,,3,好",
    "R3,李四,,13800000002,群众,,果园社区,果园街道,清洁卫生,2025-06-02,14:00,16:00,,一般",
    "R4,王五,,,党员,区财政局,果园社区,果园街道,打麻将,2025-06-03,09:00,10:00,,好",
    "R5,王五,,,党员,区财政局,果园社区,果园街道,巡逻,2025-06-03,11:00,10:00,,好",
    "R6,王五,,,党员,区财政局,果园社区,果园街道,巡逻,2025-06-03,09:00,,-2,好",
    "R1,王五,,,党员,区财政局,果园社区,果园街道,巡逻,2025-06-04,09:00,10:00,,好",
    "R7,赵六,,,党员,,果园社区,果园街道,巡逻,2025-06-04,09:00,10:00,,好",
]


def write_csv(path: Path) -> Path:
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def test_good_rows_are_imported_by_the_rules_and_bad_ones_reported(
    ledger: Ledger, tmp_path: Path
) -> None:
    result = import_services(ledger, read_rows(write_csv(tmp_path / "past.csv")), "past.csv")
    assert (result.imported, result.already) == (3, 0)
    reasons = dict(result.bad)
    assert set(reasons) == {5, 6, 7, 8, 9}
    assert "未知服务类别" in reasons[5] and "结束早于开始" in reasons[6]
    assert "时长须大于 0" in reasons[7] and "重复" in reasons[8] and "单位" in reasons[9]
    member = member_id_for(hash_national_id("110105198001010011", ledger.id_hash_key))
    account = ledger.get_account(member)
    # 2 h hard x 1.2 = 4.8, plus 3 h routine x 1.0 = 3.0 (the day's cap is 4 h)
    assert (account.earned_points, account.earned_hours) == (Decimal("7.8"), Decimal("5.0"))
    again = import_services(ledger, read_rows(tmp_path / "past.csv"), "past.csv")
    assert (again.imported, again.already) == (0, 3)
    assert ledger.get_account(member).earned_points == Decimal("7.8")


def test_the_command_reads_xlsx_and_writes_the_bad_rows_report(
    database_url: str, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    # X3 is 李四 again, later that day: the same hours again would overlap R3.
    x3 = ROWS[2].replace("R3", "X3").replace("14:00,16:00", "17:00,18:00")
    for row in (x3, ROWS[3].replace("R4", "X4")):
        cells = row.split(",")
        cells[8] = cells[8].replace("打麻将", "打麻将,夜间")  # a comma inside a cell
        sheet.append(cells)
    source = tmp_path / "past.xlsx"
    book.save(source)
    env = {**os.environ, "DATABASE_URL": database_url, "LEDGER_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "import", "services", str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "导入 1 行" in done.stdout and "有误 1 行" in done.stdout
    report = (tmp_path / "past.xlsx.errors.csv").read_text(encoding="utf-8-sig")
    assert list(csv.reader(report.splitlines())) == [
        ["行号", "原因"],
        ["3", "未知服务类别“打麻将,夜间”"],
    ]
