"""The documents, read back as documents: the PDF's text and fonts, a page rendered to
look at, the XLSX's cells; every figure equal to what the read models and the ledger hold."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import asyncpg
import psycopg
import pytest

from documents.certificate import certificate_pdf
from documents.dossier import dossier_pdf, dossier_xlsx, load_dossier
from documents.letters import letters_pdf, load_letters, praise_pdf
from entrypoints.bootstrap import Services, bootstrap
from ledger.application import IssuedCertificate
from ledger.database import as_uri
from ledger.domain.certificate import CertificateStatus
from ledger.domain.errors import InvalidInput
from ledger.domain.values import CST, Context, Grade, MemberKind, Rating, Role, UnitKind
from ledger.settings import Settings
from ledger.simulation import Generator, History, Scale
from projections.queries.documents import certifiable_positions
from tests.papers import fonts, pdf_pages, pdf_text, picture, tool, workbook
from tests.support import earn

ADMIN = Context(actor_id="街道管理员", role=Role.ADMIN)
YEAR = 2026
TINY = Scale(communities=3, grids=1, units=4, party_members=40, residents=5, days=20)


@dataclass
class Street:
    services: Services
    street: UUID
    community: UUID
    unit: UUID
    member: UUID
    reversed_position: int
    generated: History


@pytest.fixture(scope="module")
def street(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Street]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        id_hash_key=b"test-id-hash-key",
        signing_key=bytes(32),
    )
    with bootstrap(settings) as services:
        ledger = services.ledger
        street = ledger.register_street("果园新村街道", ADMIN).id
        community = ledger.register_community(street, "果园社区", ADMIN).id
        unit = ledger.register_unit("区财政局", UnitKind.ORGAN, ADMIN, communities=[community]).id
        member = ledger.register_member(
            MemberKind.PARTY_MEMBER, "张三丰", community, ADMIN, unit_id=unit
        ).id
        peer = ledger.register_member(
            MemberKind.PARTY_MEMBER, "李四", community, ADMIN, unit_id=unit
        ).id
        ledger.report_member(member, datetime(YEAR, 1, 5).date(), ADMIN)
        ledger.report_member(peer, datetime(YEAR, 1, 6).date(), ADMIN)
        start = datetime(YEAR, 3, 1, 9, tzinfo=CST)
        for n in range(3):
            earn(ledger, community, member, start + timedelta(days=n), ADMIN)
        earn(ledger, community, peer, start, ADMIN, hours=2)
        services_of = ledger.get_account(member)
        assert services_of.earned_hours == Decimal(12)
        mistaken = ledger.publish_task(
            community,
            "重复登记的巡查",
            "应急保障",
            start + timedelta(days=9),
            start + timedelta(days=9, hours=2),
            1,
            ADMIN,
        ).id
        service = ledger.claim_task(mistaken, member, ADMIN).id
        ledger.check_in(service, ADMIN, at=start + timedelta(days=9))
        ledger.check_out(service, ADMIN, at=start + timedelta(days=9, hours=2))
        ledger.rate_service(service, Rating.GOOD, ADMIN)
        reversal = ledger.reverse_service(service, "核查发现重复登记", "街道党工委", ADMIN)
        ledger.review_member(
            community, member, YEAR, Grade.OUTSTANDING, "服务积极,带头参加汛期巡查", ADMIN
        )
        generated = Generator(ledger, TINY, seed=3).run()
        services.read_side.open()
        services.read_side.catch_up()
        yield Street(services, street, community, unit, member, reversal.position, generated)


def run(street: Street, coroutine_factory):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        conn = await asyncpg.connect(as_uri(street.services.url))
        try:
            return await coroutine_factory(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_the_dossier_pdf_holds_the_ledgers_figures_in_chinese(street: Street) -> None:
    paper = run(street, lambda c: load_dossier(c, street.member, YEAR, full_name=True))
    assert paper is not None
    account = street.services.ledger.get_account(street.member)
    assert paper.dossier.points == account.earned_points == Decimal("28.8")
    document = dossier_pdf(paper)
    png = picture(document.content, "dossier")
    assert png.stat().st_size > 20_000
    text = pdf_text(document.content)
    for expected in (
        "评先评优证据材料",
        "张三丰",
        "区财政局",
        "果园社区",
        "2026-01-05",
        "28.8 分",
        "12 小时",
        "20 小时(未达到)",
        "优秀",
        "汛期巡查",
        "很好",
        "核查发现重复登记",
        "第 1 名 / 共 2 人",
    ):
        assert expected in text, expected
    for service in paper.dossier.services:
        assert str(service["rated_position"]) in text
    (reversed_,) = [s for s in paper.dossier.services if s["reversed_position"] is not None]
    assert reversed_["reversed_position"] <= street.reversed_position
    assert f"已撤销(事件 {reversed_['reversed_position']})" in pdf_text(
        document.content, layout=False
    )
    assert "NotoSansCJK" in fonts(document.content)  # embedded, not a viewer's substitute


def test_a_dossier_for_a_reader_who_may_not_see_names_is_masked(street: Street) -> None:
    paper = run(street, lambda c: load_dossier(c, street.member, YEAR, full_name=False))
    assert paper is not None
    text = pdf_text(dossier_pdf(paper).content)
    assert "张*丰" in text or "张**" in text
    assert "张三丰" not in text


def test_the_dossier_xlsx_has_the_same_figures_as_the_pdf(street: Street) -> None:
    paper = run(street, lambda c: load_dossier(c, street.member, YEAR, full_name=True))
    assert paper is not None
    book = workbook(dossier_xlsx(paper).content)
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(values_only=True)}
    assert overview["姓名"] == "张三丰"
    assert Decimal(str(overview["有效服务积分"])) == paper.dossier.points == Decimal("28.8")
    assert Decimal(str(overview["有效服务时长(小时)"])) == Decimal(12)
    rows = list(book["服务纪实"].iter_rows(values_only=True))
    assert rows[0][0] == "日期" and len(rows) == 1 + len(paper.dossier.services) == 5
    positions = sorted(r[10] for r in rows[1:])
    assert positions == sorted(s["rated_position"] for s in paper.dossier.services)
    counted = [r for r in rows[1:] if r[11] == "有效"]
    assert sum(Decimal(str(r[6])) for r in counted) == paper.dossier.points


def test_without_a_chinese_font_the_document_says_which_package_to_install() -> None:
    from documents.fonts import FontMissing, choose_font

    with pytest.raises(FontMissing) as raised:
        choose_font("/usr/share/fonts/truetype/dejavu/DejaVuSans.pfb|0|DejaVu|Book\n")
    assert "fonts-noto-cjk" in raised.value.message and "中文字体" in raised.value.message


def test_the_preferred_simplified_chinese_face_is_chosen() -> None:
    from documents.fonts import choose_font

    listing = (
        "/f/NotoSansCJK-Regular.ttc|3|Noto Sans CJK TC|Regular\n"
        "/f/NotoSansCJK-Bold.ttc|2|Noto Sans CJK SC|Bold\n"
        "/f/NotoSansCJK-Regular.ttc|2|Noto Sans CJK SC|Regular\n"
        "/f/DroidSansFallbackFull.ttf|0|Droid Sans Fallback|Regular\n"
    )
    font = choose_font(listing)
    assert (font.path, font.index, font.family) == (
        Path("/f/NotoSansCJK-Regular.ttc"),
        2,
        "Noto Sans CJK SC",
    )


def test_the_annual_letter_names_every_reported_member_with_grade_and_figures(
    street: Street,
) -> None:
    letters = run(
        street, lambda c: load_letters(c, YEAR, community_id=street.community, unit_id=street.unit)
    )
    assert len(letters) == 1 and [m.name for m in letters[0].members] == ["张三丰", "李四"]
    document = letters_pdf(letters)
    picture(document.content, "annual-letter")
    text = pdf_text(document.content)
    for expected in (
        "2026 年度在职党员社区服务评价函",
        "区财政局党组织:",
        "张三丰",
        "李四",
        "28.8",
        "4.8",
        "优秀",
        "未评价",
        "服务积极,带头参加汛期巡查",
        "出具单位:果园社区党组织",
        "(盖章处)",
        "日期:",
    ):
        assert expected in text, expected
    review = letters[0].members[0].review_position
    assert review is not None and str(review) in text


def test_the_praise_letter_goes_to_outstanding_members_only(street: Street) -> None:
    letters = run(
        street, lambda c: load_letters(c, YEAR, community_id=street.community, unit_id=street.unit)
    )
    document = praise_pdf(letters)
    picture(document.content, "praise-letter")
    pages = pdf_pages(document.content)
    assert len(pages) == 1
    for expected in ("喜", "张三丰 同志", "3 次、12 小时", "28.8 分", "“优秀”", "(盖章处)"):
        assert expected in pages[0], expected
    assert "李四" not in pages[0]


def test_a_whole_streets_letters_come_one_per_reported_community_and_unit(
    street: Street,
) -> None:
    ledger = street.services.ledger
    expected = set()
    outstanding = 0
    for member_id in street.generated.party_members:
        member = ledger.get_member(member_id)
        if member.reported and member.unit_id is not None:
            expected.add((member.community_id, member.unit_id))
    year = TINY.start.year  # the generated street's year
    letters = run(street, lambda c: load_letters(c, year, street_id=street.generated.street))
    assert {(letter.community_id, letter.unit_id) for letter in letters} == expected
    assert len(letters) == len(expected) > 2
    text = pdf_text(letters_pdf(letters).content)
    assert text.count("年度在职党员社区服务评价函") == len(expected)
    outstanding = sum(len(letter.outstanding) for letter in letters)
    assert outstanding > 0
    assert len(pdf_pages(praise_pdf(letters).content)) == outstanding


def issue(street: Street, start: date, end: date) -> IssuedCertificate:
    positions = run(street, lambda c: certifiable_positions(c, street.member, start, end))
    return street.services.ledger.issue_certificate(street.member, start, end, positions, ADMIN)


def test_a_certificate_states_the_ledgers_figures_and_verifies(street: Street) -> None:
    issued = issue(street, date(YEAR, 1, 1), date(YEAR, 12, 31))
    check = street.services.ledger.check_certificate(issued.number)
    assert check.status is CertificateStatus.GENUINE and check.problems == []
    assert check.statement is not None and check.statement.digest() == issued.digest
    figures = check.statement.figures
    assert (figures.services, figures.hours, figures.points, figures.hard_hours) == (
        3,
        Decimal(12),
        Decimal("28.8"),
        Decimal(12),
    )
    document = certificate_pdf(check, "张三丰", "https://ledger.example.cn")
    picture(document.content, "certificate")
    text = pdf_text(document.content, layout=False)
    for expected in (
        "志愿服务证明",
        issued.number,
        "张三丰",
        "3 次",
        "12 小时",
        "28.8 分",
        "急难险重 12 小时",
        "(盖章处)",
        issued.digest,
    ):
        assert expected in text.replace("\n", ""), expected
    qr = decoded_qr(document.content)
    assert qr == f"https://ledger.example.cn/verify/{issued.number}?d={issued.digest}"


def test_a_certificate_over_a_period_counts_only_the_services_in_it(street: Street) -> None:
    issued = issue(street, date(YEAR, 3, 2), date(YEAR, 3, 31))
    check = street.services.ledger.check_certificate(issued.number)
    assert check.statement is not None
    assert (check.statement.figures.services, check.statement.figures.points) == (
        2,
        Decimal("19.2"),
    )


def test_the_ledger_refuses_to_certify_another_members_service(street: Street) -> None:
    others = run(
        street,
        lambda c: certifiable_positions(
            c, street.generated.party_members[0], date(YEAR, 1, 1), date(YEAR, 12, 31)
        ),
    )
    mine = run(
        street,
        lambda c: certifiable_positions(c, street.member, date(YEAR, 1, 1), date(YEAR, 12, 31)),
    )
    with pytest.raises(InvalidInput):
        street.services.ledger.issue_certificate(
            street.member, date(YEAR, 1, 1), date(YEAR, 12, 31), mine + others[:1] + [1], ADMIN
        )


def test_a_period_without_service_gets_no_certificate(street: Street) -> None:
    with pytest.raises(InvalidInput, match="没有已评价的服务"):
        issue(street, date(YEAR, 7, 1), date(YEAR, 7, 31))


def test_an_unknown_or_malformed_number_is_not_genuine(street: Street) -> None:
    ledger = street.services.ledger
    issued = issue(street, date(YEAR, 1, 1), date(YEAR, 12, 31))
    forged = issued.number[:-1] + ("2" if issued.number[-1] != "2" else "3")
    assert ledger.check_certificate(forged).status is CertificateStatus.UNKNOWN
    assert ledger.check_certificate("ZYFW-2026-<script>").status is CertificateStatus.UNKNOWN


def test_an_event_altered_in_the_database_makes_the_certificate_fail(street: Street) -> None:
    issued = issue(street, date(YEAR, 1, 1), date(YEAR, 12, 31))
    ledger = street.services.ledger
    assert ledger.check_certificate(issued.number).status is CertificateStatus.GENUINE
    statement = ledger.check_certificate(issued.number).statement
    assert statement is not None
    position = statement.positions[0]
    with psycopg.connect(street.services.url, autocommit=True) as conn:
        (state,) = conn.execute(
            "SELECT state FROM ledger_events WHERE notification_id = %s", (position,)
        ).fetchone()  # type: ignore[misc]
        altered = bytes(state).replace(b'"9.6"', b'"19.6"')
        assert altered != bytes(state)
        conn.execute(
            "UPDATE ledger_events SET state = %s WHERE notification_id = %s", (altered, position)
        )
        try:
            check = ledger.check_certificate(issued.number)
        finally:
            conn.execute(
                "UPDATE ledger_events SET state = %s WHERE notification_id = %s", (state, position)
            )
    assert check.status is CertificateStatus.ALTERED
    assert any("重新计算" in p for p in check.problems)
    assert check.recomputed is not None and check.recomputed.points == Decimal("38.8")


def test_a_certificate_whose_stated_figure_was_changed_fails(street: Street) -> None:
    issued = issue(street, date(YEAR, 1, 1), date(YEAR, 12, 31))
    ledger = street.services.ledger
    with psycopg.connect(street.services.url, autocommit=True) as conn:
        (state,) = conn.execute(
            "SELECT state FROM ledger_events WHERE originator_id = %s", (issued.id,)
        ).fetchone()  # type: ignore[misc]
        altered = bytes(state).replace(b'"28.8"', b'"38.8"')
        assert altered != bytes(state)
        conn.execute(
            "UPDATE ledger_events SET state = %s WHERE originator_id = %s", (altered, issued.id)
        )
    check = ledger.check_certificate(issued.number)
    assert check.status is CertificateStatus.ALTERED
    assert "证明的内容与其记录的内容摘要不符" in check.problems


def decoded_qr(content: bytes) -> str:
    png = picture(content, "certificate-qr")
    zbarimg = tool("zbarimg")
    out = subprocess.run(
        [zbarimg, "--raw", "-q", str(png)], capture_output=True, text=True, check=True
    ).stdout
    return out.strip()


def ledger_command(
    street: Street, *args: str, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": os.environ["PATH"] if path is None else path,
        "DATABASE_URL": street.services.url,
        "LEDGER_ID_HASH_KEY": b"test-id-hash-key".hex(),
        "LEDGER_PUBLIC_URL": "https://ledger.example.cn/",
    }
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "documents", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_command_makes_a_streets_letters_and_praise_in_bulk(
    street: Street, tmp_path: Path
) -> None:
    year = TINY.start.year  # the generated street's year
    done = ledger_command(
        street,
        "letters",
        "--year",
        str(year),
        "--street",
        str(street.generated.street),
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    letters = run(street, lambda c: load_letters(c, year, street_id=street.generated.street))
    praised = sum(len(letter.outstanding) for letter in letters)
    assert f"年度评价函 {len(letters)} 份(社区×单位),喜报 {praised} 份" in done.stdout
    text = pdf_text((tmp_path / f"年度评价函-{year}.pdf").read_bytes())
    assert text.count("年度在职党员社区服务评价函") == len(letters)
    assert len(pdf_pages((tmp_path / f"喜报-{year}.pdf").read_bytes())) == praised


def test_the_command_issues_a_certificate_that_its_check_finds_genuine(
    street: Street, tmp_path: Path
) -> None:
    out = tmp_path / "certificate.pdf"
    done = ledger_command(
        street,
        "certificate",
        "--member",
        str(street.member),
        "--start",
        f"{YEAR}-01-01",
        "--end",
        f"{YEAR}-12-31",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    number = re.search(r"证明编号 (ZYFW-\d{4}-[A-Z0-9]+)", done.stdout)
    assert number is not None
    assert f"https://ledger.example.cn/verify/{number[1]}?d=" in done.stdout
    assert number[1] in pdf_text(out.read_bytes())
    checked = ledger_command(street, "verify", number[1])
    assert checked.returncode == 0 and "真实有效" in checked.stdout
    assert "没有二维码中的内容摘要" in checked.stdout  # the paper itself was not compared
    assert "张*丰" in checked.stdout and "28.8" in checked.stdout
    last = "Y" if number[1].endswith("Z") else "Z"  # another number, whatever the real one ends in
    forged = ledger_command(street, "verify", number[1][:-1] + last)
    assert forged.returncode == 1 and "查无此证明" in forged.stdout


def test_the_command_writes_a_dossier_workbook_and_the_round_lists(
    street: Street, tmp_path: Path
) -> None:
    book = tmp_path / "dossier.xlsx"
    done = ledger_command(
        street, "dossier", "--member", str(street.member), "--year", str(YEAR), str(book)
    )
    assert done.returncode == 0, done.stderr
    overview = {r[0]: r[1] for r in workbook(book.read_bytes())["概况"].iter_rows(values_only=True)}
    assert Decimal(str(overview["有效服务积分"])) == Decimal("28.8")
    below = tmp_path / "below.xlsx"
    done = ledger_command(
        street, "list", "below-floor", "--year", str(YEAR), "--unit", str(street.unit), str(below)
    )
    assert done.returncode == 0, done.stderr
    rows = list(workbook(below.read_bytes()).active.iter_rows(values_only=True))
    names = {r[1] for r in rows if isinstance(r[0], int)}
    assert names == {"张三丰", "李四"}  # 12 and 2 hours, both under 20
    ranking = tmp_path / "ranking.pdf"
    done = ledger_command(
        street, "list", "ranking", "--period", str(YEAR), "--first", "3", str(ranking)
    )
    assert done.returncode == 0, done.stderr
    assert "单位排名(前 3 名)" in pdf_text(ranking.read_bytes())
    picture(ranking.read_bytes(), "unit-ranking")
    bad = ledger_command(street, "list", "ranking", "--period", "2026-13", str(ranking))
    assert bad.returncode == 2 and "格式不对" in bad.stderr
    members = tmp_path / "members.xlsx"
    done = ledger_command(
        street, "list", "members", "--period", str(YEAR), "--unit", str(street.unit), str(members)
    )
    assert done.returncode == 0, done.stderr
    rows = [
        r
        for r in workbook(members.read_bytes()).active.iter_rows(values_only=True)
        if isinstance(r[0], int)
    ]
    assert [(r[0], r[1], Decimal(str(r[6]))) for r in rows] == [
        (1, "张三丰", Decimal("28.8")),  # three 4-hour hard services rated 很好
        (2, "李四", Decimal("4.8")),
    ]
    projects = tmp_path / "projects.pdf"
    done = ledger_command(
        street,
        "list",
        "projects",
        "--community",
        str(street.community),
        "--year",
        str(YEAR),
        str(projects),
    )
    assert done.returncode == 0, done.stderr
    text = pdf_text(projects.read_bytes())
    picture(projects.read_bytes(), "best-projects")
    assert "果园社区 2026 年度十佳实事项目候选名单" in text and "汛期巡查" in text


def test_on_a_machine_without_a_chinese_font_the_command_says_what_to_install(
    street: Street, tmp_path: Path
) -> None:
    out = tmp_path / "dossier.pdf"
    done = ledger_command(
        street,
        "dossier",
        "--member",
        str(street.member),
        "--year",
        str(YEAR),
        str(out),
        path=str(tmp_path),  # no fontconfig on the path: no font can be found
    )
    assert done.returncode == 2
    assert "本机没有中文字体" in done.stderr and "apt-get install fonts-noto-cjk" in done.stderr
    assert not out.exists()


def test_the_command_makes_a_units_dossiers_in_one_file(street: Street, tmp_path: Path) -> None:
    out = tmp_path / "unit.pdf"
    done = ledger_command(
        street, "dossier", "--unit", str(street.unit), "--year", str(YEAR), str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "证据材料 2 份" in done.stdout
    text = pdf_text(out.read_bytes())
    assert text.count("评先评优证据材料\n") >= 2 and "张三丰" in text and "李四" in text
    neither = ledger_command(street, "dossier", "--year", str(YEAR), str(out))
    assert neither.returncode == 2 and "--member" in neither.stderr
