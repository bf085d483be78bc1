"""A whole street's annual letters and a batch of service certificates as documents,
against reading the same data as JSON.

Generates a street (``--members`` party members over ``--days`` days), brings the read
models up to date, then measures in one run: annual letters per second (every community ×
unit of the street, read and rendered into one bulk PDF) and certificates per second
(issued as events, checked against their events, rendered with their QR codes), against
the same letters' rows and the same members' dossiers read from the read models and
written as JSON.

    python -m bench.documents [--members 400] [--days 60] [--certificates 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from bench.common import bench_database
from documents.certificate import certificate_pdf
from documents.letters import letters_pdf, load_letters
from entrypoints.bootstrap import bootstrap
from ledger.database import as_uri
from ledger.domain.values import Context
from ledger.settings import Settings
from ledger.simulation import Generator, Scale
from projections import queries
from projections.queries.documents import certifiable_positions, letter_members, street_pairs

YEAR = 2026
START, END = date(YEAR, 1, 1), date(YEAR, 12, 31)


def as_json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


async def main(members: int, days: int, certificates: int) -> None:
    with bench_database() as url, tempfile.TemporaryDirectory() as data:
        settings = Settings(url, Path(data), b"bench-documents", bytes(32))
        with bootstrap(settings) as services:
            scale = Scale(party_members=members, residents=members // 4, days=days)
            history = Generator(services.ledger, scale, seed=5).run()
            services.read_side.open()
            services.read_side.catch_up()
            conn = await asyncpg.connect(as_uri(url))
            try:
                started = time.perf_counter()
                letters = await load_letters(conn, YEAR, street_id=history.street)
                pdf = letters_pdf(letters)
                letters_seconds = time.perf_counter() - started

                started = time.perf_counter()
                for pair in await street_pairs(conn, history.street):
                    rows = await letter_members(conn, pair["community_id"], pair["unit_id"], YEAR)
                    as_json([dict(pair), [dict(r) for r in rows]])
                letters_json_seconds = time.perf_counter() - started

                chosen: list[UUID] = []  # members with a service to certify
                for member in history.party_members:
                    if len(chosen) < certificates and await certifiable_positions(
                        conn, member, START, END
                    ):
                        chosen.append(member)
                started = time.perf_counter()
                for member in chosen:
                    positions = await certifiable_positions(conn, member, START, END)
                    issued = services.ledger.issue_certificate(
                        member, START, END, positions, Context.system("bench")
                    )
                    check = services.ledger.check_certificate(issued.number)
                    row = await queries.member_totals(conn, member)
                    assert row is not None
                    certificate_pdf(check, row["name"], "https://ledger.example.cn")
                certificates_seconds = time.perf_counter() - started

                started = time.perf_counter()
                for member in chosen:
                    dossier = await queries.dossier(conn, member, YEAR)
                    assert dossier is not None
                    as_json([dict(s) for s in dossier.services])
                certificates_json_seconds = time.perf_counter() - started
            finally:
                await conn.close()
    documents = len(letters) + len(chosen)
    rendered = documents / (letters_seconds + certificates_seconds)
    read = documents / (letters_json_seconds + certificates_json_seconds)
    print(
        f"street: {members} party members, {days} days, {len(letters)} letters "
        f"(one PDF of {len(pdf.content):,} bytes), {len(chosen)} certificates"
    )
    print(
        f"letters: {len(letters) / letters_seconds:.1f}/s as PDF, "
        f"{len(letters) / letters_json_seconds:.1f}/s as JSON"
    )
    print(
        f"certificates: {len(chosen) / certificates_seconds:.1f}/s issued+checked+PDF, "
        f"{len(chosen) / certificates_json_seconds:.1f}/s dossiers as JSON"
    )
    print(f"documents/s {rendered:.1f} vs JSON reads/s {read:.1f}")
    print(f"ratio={rendered / read:.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--certificates", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.days, args.certificates))
