"""The documents over HTTP: each made by the server for the token's own scope, read back
as documents; a certificate issued over GraphQL verifies on the public page in a real
browser, and an altered one does not."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
import pytest
from selenium.webdriver.common.by import By

from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, Grade, MemberKind, Role, UnitKind
from tests.e2e.browser import chromium, requested_hosts, screenshot
from tests.e2e.conftest import Server
from tests.papers import pdf_text, workbook
from tests.support import earn

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_export.py"
ADMIN = Context(actor_id="test", role=Role.ADMIN)
YEAR = 2026
DOSSIER = """query($m: UUID!, $f: DocumentFormat!) {
  dossierDocument(memberId: $m, year: 2026, format: $f) { filename mediaType contentBase64 } }"""
LETTERS = """query($c: UUID, $u: UUID) {
  annualLettersDocument(year: 2026, communityId: $c, unitId: $u) { contentBase64 } }"""
ISSUE = """mutation($m: UUID!) {
  issueCertificate(memberId: $m, start: "2026-01-01", end: "2026-12-31") {
    __typename ... on IssuedCertificate {
      number digest verifyUrl position document { contentBase64 } }
    ... on Problem { code message } } }"""


@pytest.fixture(scope="module")
def town(server: Server) -> dict[str, Any]:
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"documents")
    try:
        street = ledger.register_street("果园新村街道", ADMIN).id
        home = ledger.register_community(street, "果园社区", ADMIN).id
        other = ledger.register_community(street, "桃园社区", ADMIN).id
        finance = ledger.register_unit("区财政局", UnitKind.ORGAN, ADMIN, communities=[home]).id
        water = ledger.register_unit("区水务局", UnitKind.ORGAN, ADMIN, communities=[other]).id
        zhang = ledger.register_member(
            MemberKind.PARTY_MEMBER, "张三丰", home, ADMIN, unit_id=finance
        ).id
        li = ledger.register_member(MemberKind.PARTY_MEMBER, "李四", other, ADMIN, unit_id=water).id
        ledger.report_member(zhang, date(YEAR, 1, 5), ADMIN)
        ledger.report_member(li, date(YEAR, 1, 6), ADMIN)
        earn(ledger, home, zhang, datetime(YEAR, 4, 1, 9, tzinfo=CST), ADMIN)
        earn(ledger, home, zhang, datetime(YEAR, 4, 2, 9, tzinfo=CST), ADMIN)
        earn(ledger, other, li, datetime(YEAR, 4, 1, 9, tzinfo=CST), ADMIN, hours=2)
        last = ledger.review_member(home, zhang, YEAR, Grade.OUTSTANDING, "带头参加汛期巡查", ADMIN)
    finally:
        ledger.close()
    server.gql(
        server.admin, "query($p: Int) { members(first: 1, waitFor: $p) { id } }", p=last.position
    )
    tokens = {
        "home": server.token(Role.COMMUNITY, home),
        "other": server.token(Role.COMMUNITY, other),
        "finance": server.token(Role.UNIT, finance),
        "water": server.token(Role.UNIT, water),
        "zhang": server.token(Role.MEMBER, zhang),
        "li": server.token(Role.MEMBER, li),
        "kiosk": server.token(Role.KIOSK, home),
        "auditor": server.token(Role.AUDITOR),
    }
    return {
        "zhang": str(zhang),
        "li": str(li),
        "home": str(home),
        "other": str(other),
        "finance": str(finance),
        "water": str(water),
        "tokens": tokens,
    }


def content(answer: dict[str, Any], field: str) -> bytes:
    assert "errors" not in answer, answer
    return base64.b64decode(answer["data"][field]["contentBase64"])


def refused(answer: dict[str, Any]) -> bool:
    return answer.get("data") is None and answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@contextlib.contextmanager
def rated_event_altered(server: Server, alter: Callable[[bytes], bytes]) -> Iterator[int]:
    """The first ``Service.Rated`` event worth 9.6 points rewritten in the database by
    ``alter`` for the block, then put back; yields its position."""
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT notification_id, state FROM ledger_events WHERE topic LIKE %s"
            " AND convert_from(state, 'UTF8') LIKE %s ORDER BY notification_id LIMIT 1",
            ("%Service.Rated", '%"9.6"%'),
        ).fetchone()
        assert row is not None
        position, state = row
        update = "UPDATE ledger_events SET state = %s WHERE notification_id = %s"
        conn.execute(update, (alter(bytes(state)), position))
        try:
            yield int(position)
        finally:
            conn.execute(update, (state, position))


def ledger_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """A ``ledger`` command with the server's own settings (its keys and checkpoint log)."""
    settings = {
        "DATABASE_URL": server.database_url,
        "LEDGER_DATA_DIR": str(server.log.parent / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_dossier_is_made_for_the_unit_the_community_and_the_member_and_no_one_else(
    server: Server, town: dict[str, Any]
) -> None:
    tokens = town["tokens"]
    for who in ("finance", "home", "zhang"):
        answer = server.gql(tokens[who], DOSSIER, m=town["zhang"], f="PDF")
        text = pdf_text(content(answer, "dossierDocument"))
        assert "张三丰" in text and "19.2 分" in text, who
    masked = pdf_text(
        content(server.gql(tokens["auditor"], DOSSIER, m=town["zhang"], f="PDF"), "dossierDocument")
    )
    assert "张*丰" in masked and "张三丰" not in masked
    for who in ("water", "other", "li", "kiosk"):
        assert refused(server.gql(tokens[who], DOSSIER, m=town["zhang"], f="PDF")), who


def test_the_dossier_workbook_has_the_figures_graphql_answers(
    server: Server, town: dict[str, Any]
) -> None:
    answer = server.gql(town["tokens"]["finance"], DOSSIER, m=town["zhang"], f="XLSX")
    assert answer["data"]["dossierDocument"]["mediaType"].endswith("spreadsheetml.sheet")
    book = workbook(content(answer, "dossierDocument"))
    json = server.gql(
        town["tokens"]["finance"],
        """query($m: UUID!) { member(id: $m) { dossier(year: 2026) {
            points hours services { ratedPosition points } } } }""",
        m=town["zhang"],
    )["data"]["member"]["dossier"]
    overview = {r[0]: r[1] for r in book["概况"].iter_rows(values_only=True)}
    assert Decimal(str(overview["有效服务积分"])) == Decimal(json["points"]) == Decimal("19.2")
    assert Decimal(str(overview["有效服务时长(小时)"])) == Decimal(json["hours"])
    rows = list(book["服务纪实"].iter_rows(values_only=True))[1:]
    assert sorted((r[10], Decimal(str(r[6]))) for r in rows) == sorted(
        (s["ratedPosition"], Decimal(s["points"])) for s in json["services"]
    )


def test_annual_letters_are_made_for_the_community_that_writes_them_and_the_unit_they_go_to(
    server: Server, town: dict[str, Any]
) -> None:
    tokens = town["tokens"]
    mine = pdf_text(
        content(server.gql(tokens["home"], LETTERS, c=town["home"]), "annualLettersDocument")
    )
    assert "区财政局党组织" in mine and "张三丰" in mine and "李四" not in mine
    to_unit = pdf_text(
        content(server.gql(tokens["finance"], LETTERS, u=town["finance"]), "annualLettersDocument")
    )
    assert "张三丰" in to_unit and "李四" not in to_unit
    everything = pdf_text(content(server.gql(server.admin, LETTERS), "annualLettersDocument"))
    assert everything.count("年度在职党员社区服务评价函") == 2
    assert refused(server.gql(tokens["home"], LETTERS, c=town["other"]))
    assert refused(server.gql(tokens["water"], LETTERS, u=town["finance"]))
    assert refused(server.gql(tokens["zhang"], LETTERS, c=town["home"]))


def test_round_lists_come_as_pdf_and_xlsx_for_their_scope(
    server: Server, town: dict[str, Any]
) -> None:
    tokens = town["tokens"]
    below = """query($u: UUID, $c: UUID, $f: DocumentFormat!) {
      belowFloorDocument(year: 2026, unitId: $u, communityId: $c, format: $f) { contentBase64 } }"""
    book = workbook(
        content(
            server.gql(tokens["finance"], below, u=town["finance"], f="XLSX"), "belowFloorDocument"
        )
    )
    rows = [r for r in book.active.iter_rows(values_only=True) if r and r[0] == 1]
    assert rows and rows[0][1] == "张三丰" and Decimal(str(rows[0][7])) == Decimal(12)
    assert refused(server.gql(tokens["water"], below, u=town["finance"], f="PDF"))
    projects = """query($c: UUID!) { bestProjectsDocument(communityId: $c, year: 2026,
      measure: POINTS) { contentBase64 } }"""
    text = pdf_text(
        content(server.gql(tokens["home"], projects, c=town["home"]), "bestProjectsDocument")
    )
    assert "十佳实事项目" in text and "汛期巡查" in text
    assert refused(server.gql(tokens["other"], projects, c=town["home"]))
    ranking = """query($f: DocumentFormat!) {
      unitRankingDocument(period: "2026", first: 5, format: $f) { contentBase64 } }"""
    text = pdf_text(content(server.gql(tokens["auditor"], ranking, f="PDF"), "unitRankingDocument"))
    assert "区财政局" in text and "区水务局" in text
    sheet = workbook(
        content(server.gql(tokens["auditor"], ranking, f="XLSX"), "unitRankingDocument")
    ).active
    listed = [
        (r[1], r[0], Decimal(str(r[11])))
        for r in sheet.iter_rows(values_only=True)
        if isinstance(r[0], int)
    ]
    answer = server.gql(
        tokens["auditor"],
        """{ unitRanking(period: "2026", first: 5) {
      name rank composite } }""",
    )["data"]["unitRanking"]
    assert listed == [(u["name"], u["rank"], Decimal(u["composite"])) for u in answer]
    assert len(listed) == 2
    assert refused(server.gql(tokens["home"], ranking, f="PDF"))  # the street's, not its own
    assert refused(server.gql(tokens["zhang"], ranking, f="PDF"))


def test_a_member_ranking_comes_as_pdf_and_xlsx_for_its_scope(
    server: Server, town: dict[str, Any]
) -> None:
    tokens = town["tokens"]
    ranking = """query($c: UUID, $u: UUID, $f: DocumentFormat!) {
      memberRankingDocument(period: "2026", communityId: $c, unitId: $u, format: $f) {
        contentBase64 } }"""
    sheet = workbook(
        content(
            server.gql(tokens["home"], ranking, c=town["home"], f="XLSX"), "memberRankingDocument"
        )
    ).active
    listed = [
        (r[1], r[0], Decimal(str(r[6])), Decimal(str(r[9])))
        for r in sheet.iter_rows(values_only=True)
        if isinstance(r[0], int)
    ]
    answer = server.gql(
        tokens["home"],
        """query($c: UUID!) { memberRanking(period: "2026", communityId: $c) {
          memberId rank points composite } }""",
        c=town["home"],
    )["data"]["memberRanking"]
    names = {town["zhang"]: "张三丰"}
    assert listed == [
        (names[m["memberId"]], m["rank"], Decimal(m["points"]), Decimal(m["composite"]))
        for m in answer
    ]
    assert listed and listed[0][:3] == ("张三丰", 1, Decimal("19.2"))
    text = pdf_text(
        content(
            server.gql(tokens["finance"], ranking, u=town["finance"], f="PDF"),
            "memberRankingDocument",
        )
    )
    assert "成员排名" in text and "张三丰" in text and "范围:区财政局的成员" in text
    audited = pdf_text(
        content(
            server.gql(tokens["auditor"], ranking, c=town["home"], f="PDF"), "memberRankingDocument"
        )
    )
    assert "张*丰" in audited and "张三丰" not in audited  # an auditor sees masked names
    assert refused(server.gql(tokens["water"], ranking, u=town["finance"], f="PDF"))
    assert refused(server.gql(tokens["other"], ranking, c=town["home"], f="PDF"))


@pytest.fixture(scope="module")
def certificate(server: Server, town: dict[str, Any]) -> dict[str, Any]:
    answer = server.gql(town["tokens"]["zhang"], ISSUE, m=town["zhang"])
    issued: dict[str, Any] = answer["data"]["issueCertificate"]
    assert issued["__typename"] == "IssuedCertificate", issued
    return issued


def test_a_certificate_request_retried_with_its_key_issues_one_certificate(
    server: Server, town: dict[str, Any]
) -> None:
    keyed = """mutation($m: UUID!, $s: Date!, $k: String) {
      issueCertificate(memberId: $m, start: $s, end: "2026-12-31", key: $k) {
        __typename ... on IssuedCertificate { number digest position }
        ... on Problem { code } } }"""
    token, member = town["tokens"]["zhang"], town["zhang"]
    first = server.gql(token, keyed, m=member, s="2026-01-01", k="cert-2026")["data"]
    again = server.gql(token, keyed, m=member, s="2026-01-01", k="cert-2026")["data"]
    assert first["issueCertificate"]["__typename"] == "IssuedCertificate"
    assert again == first  # the same certificate, its number, digest and event
    other = server.gql(token, keyed, m=member, s="2026-02-01", k="cert-2026")["data"]
    assert other["issueCertificate"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    listed = server.gql(
        token, "query($m: UUID!) { certificates(memberId: $m) { number } }", m=member
    )["data"]["certificates"]
    assert [c["number"] for c in listed].count(first["issueCertificate"]["number"]) == 1


def test_a_member_issues_their_own_certificate_and_no_one_elses(
    server: Server, town: dict[str, Any], certificate: dict[str, Any]
) -> None:
    text = pdf_text(base64.b64decode(certificate["document"]["contentBase64"]), layout=False)
    assert certificate["number"] in text and "张三丰" in text and "19.2 分" in text
    assert urlparse(certificate["verifyUrl"]).path == f"/verify/{certificate['number']}"
    for who in ("li", "finance", "other"):
        answer = server.gql(town["tokens"][who], ISSUE, m=town["zhang"])
        assert answer["data"]["issueCertificate"]["code"] == "FORBIDDEN", who
    reprint = """query($n: String!) { certificateDocument(number: $n) { contentBase64 } }"""
    assert refused(server.gql(town["tokens"]["li"], reprint, n=certificate["number"]))
    again = content(
        server.gql(town["tokens"]["zhang"], reprint, n=certificate["number"]), "certificateDocument"
    )
    assert certificate["number"] in pdf_text(again, layout=False)
    mine = server.gql(
        town["tokens"]["zhang"],
        "query($m: UUID!) { certificates(memberId: $m) { number points } }",
        m=town["zhang"],
    )
    assert mine["data"]["certificates"][0] == {"number": certificate["number"], "points": "19.2"}
    assert refused(
        server.gql(
            town["tokens"]["li"],
            "query($m: UUID!) { certificates(memberId: $m) { number } }",
            m=town["zhang"],
        )
    )


def test_the_verification_page_shows_a_genuine_certificate_and_no_more_of_the_person(
    server: Server, town: dict[str, Any], certificate: dict[str, Any]
) -> None:
    path = urlparse(certificate["verifyUrl"])
    with chromium() as driver:
        driver.get(f"{server.base}{path.path}?{path.query}")
        status = driver.find_element(By.ID, "status").text
        page = driver.find_element(By.TAG_NAME, "main").text
        screenshot(driver, "verify-genuine")
        assert "真实有效" in status
        for shown in (
            certificate["number"],
            "张*丰",
            "果园社区",
            "19.2 分",
            "8 小时",
            certificate["digest"],
            "透明日志",
            "服务社区",
        ):
            assert shown in page, shown
        assert "张三丰" not in page and town["zhang"] not in page  # no full name, no member id
        # a forged number, and a QR code whose digest is not the recorded one
        forged = certificate["number"][:-2] + ("22" if certificate["number"][-2:] != "22" else "33")
        driver.get(f"{server.base}/verify/{forged}")
        assert "查无此证明" in driver.find_element(By.ID, "status").text
        driver.get(f"{server.base}{path.path}?d={'0' * 64}")
        assert "核验未通过" in driver.find_element(By.ID, "status").text
        screenshot(driver, "verify-altered-digest")
        # the form takes a number typed in
        driver.get(f"{server.base}/verify")
        assert "输入志愿服务证明上的编号" in driver.find_element(By.TAG_NAME, "main").text
        assert driver.find_elements(By.ID, "status") == []
        field = driver.find_element(By.NAME, "number")
        field.send_keys(certificate["number"].lower())
        field.submit()
        typed = driver.find_element(By.ID, "status").text  # no QR code: the paper unchecked
        assert "真实有效" not in typed and "无法确认您手中纸面证明" in typed
        screenshot(driver, "verify-number-typed")
        assert requested_hosts(driver) == {"127.0.0.1"}


def test_a_certificate_fails_on_the_page_once_its_events_are_altered_in_the_database(
    server: Server, certificate: dict[str, Any]
) -> None:
    with (
        rated_event_altered(server, lambda state: state.replace(b'"9.6"', b'"96.0"')),
        chromium() as driver,
    ):
        driver.get(f"{server.base}/verify/{certificate['number']}")
        status = driver.find_element(By.ID, "status").text
        page = driver.find_element(By.TAG_NAME, "main").text
        screenshot(driver, "verify-altered-event")
    assert "核验未通过" in status
    assert "重新计算" in page and "105.6 分" in page


def test_a_year_out_of_range_is_refused_in_chinese(server: Server, town: dict[str, Any]) -> None:
    answer = server.gql(
        town["tokens"]["finance"],
        """query($m: UUID!) { dossierDocument(memberId: $m, year: 99999999) { size } }""",
        m=town["zhang"],
    )
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "OUT_OF_RANGE" and "年度" in error["message"]
    letters = server.gql(server.admin, "{ annualLettersDocument(year: 1800) { size } }")
    assert letters["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


def test_a_units_dossiers_come_in_one_file_for_that_unit_only(
    server: Server, town: dict[str, Any]
) -> None:
    query = """query($u: UUID, $c: UUID) {
      dossiersDocument(year: 2026, unitId: $u, communityId: $c) { contentBase64 } }"""
    tokens = town["tokens"]
    text = pdf_text(
        content(server.gql(tokens["finance"], query, u=town["finance"]), "dossiersDocument")
    )
    assert "张三丰" in text and "李四" not in text
    text = pdf_text(
        content(server.gql(tokens["other"], query, c=town["other"]), "dossiersDocument")
    )
    assert "李四" in text and "张三丰" not in text
    assert refused(server.gql(tokens["water"], query, u=town["finance"]))
    assert refused(server.gql(tokens["zhang"], query, u=town["finance"]))
    neither = server.gql(server.admin, query)
    assert neither["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_a_certificate_is_proven_against_the_signed_checkpoint_and_a_silent_rewrite_fails(
    server: Server, certificate: dict[str, Any]
) -> None:
    """Once a checkpoint is signed, the certificate's events are proven against it; an
    event rewritten so that every figure still agrees (the recomputation passes) is no
    longer the signed tree's leaf, and the page says so."""
    page = httpx.get(f"{server.base}/verify/{certificate['number']}", timeout=30).text
    assert "与账本记录一致" in page and "待下一检查点收录</th><td>0 个事件" not in page
    # No digest from the QR code: the page says what it could not check.
    assert "真实有效" not in page and "无法确认您手中纸面证明上的内容未被改动" in page

    signed = ledger_cli(server, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    page = httpx.get(f"{server.base}/verify/{certificate['number']}", timeout=30).text
    assert "与账本记录一致" in page and "待下一检查点收录</th><td>0 个事件" in page
    assert "已由检查点证明</th><td>3 个事件" in page  # its own event and its two services

    with rated_event_altered(server, lambda state: b"{ " + state[1:]) as position:
        # the same JSON, one byte longer
        page = httpx.get(f"{server.base}/verify/{certificate['number']}", timeout=30).text
        cli = ledger_cli(server, "documents", "verify", certificate["number"])
    assert "核验未通过" in page and f"事件 {position} 的现存内容与签名检查点中的不符" in page
    assert cli.returncode == 1 and "不符 1 个" in cli.stdout, cli.stdout + cli.stderr


def test_a_certificate_verifies_offline_and_a_changed_figure_or_event_fails(
    server: Server, certificate: dict[str, Any], tmp_path: Path
) -> None:
    """The export of everything a certificate rests on, checked by the standalone
    verifier with the pinned key alone: genuine as exported; refused with a figure
    changed in the file, or once an event it rests on is altered in the database."""
    number = certificate["number"]

    def offline(export: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(VERIFIER), str(export), "--key", key, "--certificate", number],
            capture_output=True,
            text=True,
            timeout=120,
        )

    key = ledger_cli(server, "audit", "key").stdout.strip().splitlines()[-1]
    export = tmp_path / "certificate.jsonl"
    made = ledger_cli(server, "audit", "export", "--certificate", number, str(export))
    assert made.returncode == 0, made.stderr
    checked = offline(export)
    assert checked.returncode == 0, checked.stderr
    assert f"证明 {certificate['number']}:服务 2 次,8" in checked.stdout
    assert "19.2 分" in checked.stdout

    changed = tmp_path / "changed.jsonl"
    changed.write_text(export.read_text().replace('"19.2', '"29.2'))
    assert changed.read_text() != export.read_text()
    refused_offline = offline(changed)
    assert refused_offline.returncode == 1
    assert "核验未通过:第" in refused_offline.stderr
    assert "不是检查点所含的那条事件" in refused_offline.stderr

    altered = tmp_path / "altered.jsonl"
    with rated_event_altered(server, lambda state: state.replace(b'"9.6"', b'"19.6"')):
        ledger_cli(server, "audit", "export", "--certificate", number, str(altered))
        result = offline(altered) if altered.exists() else None
    # Either the ledger refuses to export a history its signed tree disagrees with, or
    # the export it makes is refused offline.
    assert result is None or (result.returncode == 1 and "核验未通过" in result.stderr)
