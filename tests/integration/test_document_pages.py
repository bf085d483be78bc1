"""What a paper tells its reader is true on every page: in a file of many documents each
page's footer names the document of that page (a loose page is filed by its footer), a
certificate says where the services were done, and nothing a reader gets holds an id or
an English word. The documents are made on a small generated street and read back page by
page with pdftotext."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from uuid import UUID, uuid4

import asyncpg
import psycopg
import pytest

from documents import Document
from documents.certificate import certificate_pdf, verify_url
from documents.dossier import (
    DossierPaper,
    dossier_pdf,
    dossier_xlsx,
    dossiers_pdf,
    load_dossier,
    load_dossiers,
)
from documents.letters import Letter, letters_pdf, load_letters, praise_pdf
from documents.lists import listing_pdf, listing_xlsx
from documents.rounds import (
    below_floor_listing,
    member_ranking_listing,
    projects_listing,
    unit_ranking_listing,
)
from entrypoints.bootstrap import Services, bootstrap
from ledger.database import as_uri
from ledger.domain.certificate import CertificateStatus, Statement
from ledger.domain.text import natural_key
from ledger.domain.values import CST, Context, Grade, MemberKind, Rating, Role
from ledger.settings import Settings
from ledger.simulation import Generator, History, Scale
from projections.queries.documents import certifiable_positions
from tests.papers import footer, page_count, pdf_page, pdf_text, picture, workbook
from tests.readable import UUID_PATTERN, unreadable
from tests.support import earn

SMALL = Scale(communities=3, grids=1, units=12, party_members=60, residents=5, days=20)
YEAR = SMALL.start.year
ADMIN = Context(actor_id="generator", role=Role.ADMIN)
WORKER = Context(actor_id=f"token:{uuid4()}", role=Role.COMMUNITY)
"""A community worker's token: what the dossier names as 确认人 and 评价人."""
CROWD = 36
"""Members of one community and unit: their letter runs over more than one page."""
BUSY = 30
"""Services of one of them: their dossier runs over more than one page."""
TRAVELS = (0, 0, 1, 2)
"""The communities (by index) where the travelling member serves, one service each."""
PUBLIC_URL = "https://ledger.example.cn"

T = TypeVar("T")


@dataclass
class Street:
    services: Services
    generated: History
    traveller: UUID


def _names() -> Iterator[str]:
    for given in itertools.product("建国志明海燕秀兰", "华平强军芳丽红梅"):
        yield "欧阳" + "".join(given)


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
        generated = Generator(ledger, SMALL, seed=11).run()
        community, unit = generated.communities[0], generated.units[0]
        for n, name in zip(range(CROWD), _names(), strict=False):
            member = ledger.register_member(
                MemberKind.PARTY_MEMBER, name, community, ADMIN, unit_id=unit
            ).id
            ledger.report_member(member, date(YEAR, 1, 2), ADMIN)
            if n % 9 == 0:
                ledger.review_member(
                    community, member, YEAR, Grade.OUTSTANDING, "带头参加志愿服务", ADMIN
                )
        busy = datetime(YEAR, 3, 2, 9, tzinfo=CST)
        for n in range(BUSY):
            earn(ledger, community, member, busy + timedelta(days=n), WORKER, hours=1)
        traveller = ledger.register_member(
            MemberKind.PARTY_MEMBER, "司马远行", community, ADMIN, unit_id=generated.units[1]
        ).id
        ledger.report_member(traveller, date(YEAR, 1, 2), ADMIN)
        for where in sorted(set(TRAVELS)):  # a member serves where their unit is paired
            ledger.pair_unit(generated.units[1], generated.communities[where], ADMIN)
        start = datetime(YEAR, 2, 3, 9, tzinfo=CST)
        for n, where in enumerate(TRAVELS):
            at = start + timedelta(days=n)
            task = ledger.publish_task(
                generated.communities[where],
                "敬老助餐",
                "扶老帮困",
                at,
                at + timedelta(hours=2),
                1,
                ADMIN,
            ).id
            service = ledger.claim_task(task, traveller, ADMIN).id
            ledger.check_in(service, WORKER, at=at)
            ledger.check_out(service, WORKER, at=at + timedelta(hours=2))
            ledger.confirm_service(service, WORKER)
            ledger.rate_service(service, Rating.EXCELLENT, WORKER)
        services.read_side.open()
        services.read_side.catch_up()
        yield Street(services, generated, traveller)


def run(street: Street, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def go() -> T:
        conn = await asyncpg.connect(as_uri(street.services.url))
        try:
            return await query(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def footers(content: bytes) -> list[tuple[str, int, str]]:
    """Each page's footer, its number within its document, and the page's body."""
    pages = []
    for number in range(1, page_count(content) + 1):
        text = pdf_page(content, number)
        name, within = footer(text)
        pages.append((name, within, text))
    return pages


def expected_pages(documents: list[tuple[str, Document]]) -> list[tuple[str, int]]:
    """The footer each page of the bulk file should carry: each document made alone
    tells how many pages it has."""
    return [(name, n) for name, alone in documents for n in range(1, page_count(alone.content) + 1)]


def letters_of_the_street(street: Street) -> list[Letter]:
    return run(street, lambda c: load_letters(c, YEAR, street_id=street.generated.street))


ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+(?:\d{4}-\d{2}-\d{2}|—)\s")
"""A member's row of a letter's table: its serial number, the name, the 报到日期."""


def test_every_page_of_the_streets_letters_names_its_own_letter(street: Street) -> None:
    letters = letters_of_the_street(street)
    content = letters_pdf(letters).content
    pages = footers(content)
    expected = expected_pages([(letter.footer, letters_pdf([letter])) for letter in letters])
    assert [(name, n) for name, n, _ in pages] == expected
    assert any(n > 1 for _, n in expected)  # a letter runs over pages: they are checked too
    by_footer = {letter.footer: letter for letter in letters}
    rows = 0
    for name, n, body in pages:
        letter = by_footer[name]
        if n == 1:
            flat = "".join(body.split())
            assert f"{letter.unit}党组织:" in flat and f"在{letter.community}报到服务" in flat
        for line in body.splitlines():
            if found := ROW.match(line):
                serial, member = int(found[1]), found[2]
                assert member == letter.members[serial - 1].name, (name, n, line)
                rows += 1
    assert rows == sum(len(letter.members) for letter in letters)
    picture(content, "letters-page-2", page=2)


def test_every_praise_page_names_its_own_member_and_unit(street: Street) -> None:
    letters = letters_of_the_street(street)
    content = praise_pdf(letters).content
    praised = [(letter, m) for letter in letters for m in letter.outstanding]
    pages = footers(content)
    assert len(pages) == len(praised) > 1
    for (name, n, body), (letter, member) in zip(pages, praised, strict=True):
        assert (name, n) == (letter.praise_footer(member), 1)
        flat = "".join(body.split())
        assert f"{letter.unit}党组织:" in flat
        assert f"贵单位在职党员{member.name}同志" in flat
        assert f"到{letter.community}报到服务" in flat


def unit_dossiers(street: Street) -> list[DossierPaper]:
    unit = street.generated.units[0]
    return run(street, lambda c: load_dossiers(c, YEAR, unit_id=unit, full_name=True))


def test_every_page_of_a_units_dossiers_names_its_own_member(street: Street) -> None:
    papers = unit_dossiers(street)
    content = dossiers_pdf(papers, f"评先评优证据材料-{YEAR}").content
    pages = footers(content)
    expected = expected_pages([(paper.footer, dossier_pdf(paper)) for paper in papers])
    assert [(name, n) for name, n, _ in pages] == expected
    assert any(n > 1 for _, n in expected)
    people = {paper.footer: paper.name for paper in papers}
    for name, n, body in pages:
        named = re.findall(r"姓名:(\S+)", body)
        assert named == ([people[name]] if n == 1 else []), (name, n)
    assert [paper.name for paper in papers] == sorted(
        (paper.name for paper in papers), key=natural_key
    )
    picture(content, "unit-dossiers-page-1")


def test_the_streets_letters_come_in_the_order_of_their_numbers(street: Street) -> None:
    order = [(letter.community, letter.unit) for letter in letters_of_the_street(street)]
    units = [unit for community, unit in order if community == order[0][0]]
    assert any(int(unit.removeprefix("单位")) >= 10 for unit in units)
    assert order == sorted(order, key=lambda pair: (natural_key(pair[0]), natural_key(pair[1])))
    assert natural_key("第2社区") < natural_key("第10社区") < natural_key("第11社区")


def test_a_certificate_states_every_community_where_the_services_were(street: Street) -> None:
    ledger = street.services.ledger
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
    positions = run(street, lambda c: certifiable_positions(c, street.traveller, first, last))
    issued = ledger.issue_certificate(street.traveller, first, last, positions, ADMIN)
    check = ledger.check_certificate(issued.number)
    assert check.status is CertificateStatus.GENUINE and check.statement is not None
    names = [ledger.get_community(c).name for c in street.generated.communities]
    counts = {names[i]: TRAVELS.count(i) for i in set(TRAVELS)}
    document = certificate_pdf(check, "司马远行", PUBLIC_URL)
    picture(document.content, "certificate-places")
    text = pdf_text(document.content, layout=False)
    body = text.replace("\n", "")
    listed = "、".join(
        f"{name}({counts[name]} 次)"
        for name in sorted(counts, key=lambda name: (-counts[name], natural_key(name)))
    )
    assert f"在{listed}共 {len(counts)} 个社区参加志愿服务 {len(TRAVELS)} 次" in body
    assert f"出具单位:{ledger.get_community(street.generated.communities[0]).name}党组织" in body


def test_a_certificate_whose_stated_communities_were_changed_fails(street: Street) -> None:
    ledger = street.services.ledger
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
    positions = run(street, lambda c: certifiable_positions(c, street.traveller, first, last))
    issued = ledger.issue_certificate(street.traveller, first, last, positions, ADMIN)
    with psycopg.connect(street.services.url, autocommit=True) as conn:
        (state,) = conn.execute(
            "SELECT state FROM ledger_events WHERE originator_id = %s", (issued.id,)
        ).fetchone()  # type: ignore[misc]
        altered = bytes(state).replace(b'"services":2', b'"services":3')
        assert altered != bytes(state)
        conn.execute(
            "UPDATE ledger_events SET state = %s WHERE originator_id = %s", (altered, issued.id)
        )
    check = ledger.check_certificate(issued.number)
    assert check.status is CertificateStatus.ALTERED
    assert "证明所列的服务社区与所依据的服务事件不符" in check.problems


def ledger_command(
    street: Street, *args: str, public_url: str | None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "LEDGER_PUBLIC_URL"} | {
        "DATABASE_URL": street.services.url,
        "LEDGER_ID_HASH_KEY": b"test-id-hash-key".hex(),
    }
    if public_url is not None:
        env["LEDGER_PUBLIC_URL"] = public_url
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "documents", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def issued_certificates(street: Street) -> int:
    with psycopg.connect(street.services.url) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM ledger_events WHERE topic LIKE %s", ("%Certificate.Issued",)
        ).fetchone()  # type: ignore[misc]
    return int(count)


def test_the_command_issues_no_certificate_without_the_public_address(
    street: Street, tmp_path: Path
) -> None:
    before = issued_certificates(street)
    out = tmp_path / "certificate.pdf"
    period = ("--start", f"{YEAR}-01-01", "--end", f"{YEAR}-12-31", str(out))
    refused = ledger_command(
        street, "certificate", "--member", str(street.traveller), *period, public_url=None
    )
    assert refused.returncode == 2
    assert "未设置 LEDGER_PUBLIC_URL" in refused.stderr and "未出具证明" in refused.stderr
    assert not out.exists() and issued_certificates(street) == before
    done = ledger_command(
        street, "certificate", "--member", str(street.traveller), *period, public_url=PUBLIC_URL
    )
    assert done.returncode == 0, done.stderr
    assert f"{PUBLIC_URL}/verify/ZYFW-" in done.stdout and issued_certificates(street) == before + 1


def test_a_member_ranking_of_a_unit_names_the_unit(street: Street, tmp_path: Path) -> None:
    unit = street.generated.units[0]
    name = street.services.ledger.get_unit(unit).name
    listing = run(street, lambda c: member_ranking_listing(c, str(YEAR), unit_id=unit))
    assert f"范围:{name}的成员" in listing.lines[0]
    out = tmp_path / "members.pdf"
    done = ledger_command(
        street,
        "list",
        "members",
        "--period",
        str(YEAR),
        "--unit",
        str(unit),
        str(out),
        public_url=None,
    )
    assert done.returncode == 0, done.stderr
    assert f"范围:{name}的成员" in pdf_text(out.read_bytes())


def test_a_dossier_names_who_confirmed_and_rated_in_chinese_and_is_filed_by_name(
    street: Street,
) -> None:
    paper = run(street, lambda c: load_dossier(c, street.traveller, YEAR, full_name=True))
    assert paper is not None
    document = dossier_pdf(paper)
    text = pdf_text(document.content)
    assert text.count("社区工作人员") == 2 * len(TRAVELS)  # each on one line, none broken
    picture(document.content, "dossier-roles")
    assert WORKER.actor_id not in text and "token" not in text
    assert document.filename.startswith(f"评先评优证据材料-{YEAR}-司马远行-")
    assert str(street.traveller) not in document.filename
    rows = list(workbook(dossier_xlsx(paper).content)["服务纪实"].iter_rows(values_only=True))
    assert {(r[7], r[8]) for r in rows[1:]} == {("社区工作人员", "社区工作人员")}


"""The certificate's number (ZYFW-…), its verification address and its digest are what the
reader types or scans, and are taken out of the text before the scan."""


def every_document(street: Street) -> tuple[list[Document], Statement]:
    generated = street.generated
    community, unit = generated.communities[0], generated.units[0]
    ledger = street.services.ledger
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
    positions = run(street, lambda c: certifiable_positions(c, street.traveller, first, last))
    issued = ledger.issue_certificate(street.traveller, first, last, positions, ADMIN)
    check = ledger.check_certificate(issued.number)
    letters = letters_of_the_street(street)
    papers = unit_dossiers(street)
    period = str(YEAR)
    listings = [
        run(street, lambda c: unit_ranking_listing(c, period)),
        run(street, lambda c: unit_ranking_listing(c, period, community_id=community)),
        run(street, lambda c: member_ranking_listing(c, period, street_id=generated.street)),
        run(street, lambda c: member_ranking_listing(c, period, community_id=community)),
        run(street, lambda c: member_ranking_listing(c, period, unit_id=unit)),
        run(street, lambda c: projects_listing(c, community, YEAR)),
        run(street, lambda c: below_floor_listing(c, YEAR, unit_id=unit)),
        run(street, lambda c: below_floor_listing(c, YEAR, community_id=community)),
    ]
    assert check.statement is not None
    documents = [
        letters_pdf(letters),
        praise_pdf(letters),
        dossiers_pdf(papers, f"评先评优证据材料-{YEAR}"),
        dossier_pdf(papers[0]),
        dossier_xlsx(papers[0]),
        certificate_pdf(check, "司马远行", PUBLIC_URL),
        *(listing_pdf(listing) for listing in listings),
        *(listing_xlsx(listing) for listing in listings),
    ]
    return documents, check.statement


def readable_text(document: Document) -> str:
    if document.filename.endswith(".xlsx"):
        book = workbook(document.content)
        return "\n".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    return pdf_text(document.content, layout=False)


def test_no_document_holds_an_id_or_an_english_word(street: Street) -> None:
    documents, statement = every_document(street)
    scanned = 0
    for document in documents:
        text = "".join(readable_text(document).split())  # a wrapped address joined again
        for said in (verify_url(PUBLIC_URL, statement), statement.digest(), statement.number):
            text = text.replace(said, "")
        assert not unreadable(text), (document.filename, unreadable(text))
        assert not UUID_PATTERN.search(document.filename), document.filename
        scanned += len(text)
    assert scanned > 10_000
