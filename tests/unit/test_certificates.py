"""A certificate's statement: its canonical content and digest, its number, its period."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from documents.certificate import served_in
from ledger.domain.certificate import (
    Figures,
    Place,
    Statement,
    UnknownCertificate,
    check_number,
    check_period,
    new_number,
)
from ledger.domain.errors import InvalidInput, OutOfRange
from ledger.domain.values import CategoryClass

FIGURES = Figures.of(
    [
        (CategoryClass.HARD, Decimal(4), Decimal("9.6")),
        (CategoryClass.ROUTINE, Decimal("1.5"), Decimal("1.5")),
    ]
)
STATEMENT = Statement(
    number="ZYFW-2026-23456789ABCD",
    member_id=UUID(int=1),
    name_masked="张*丰",
    community_id=UUID(int=2),
    community="果园社区",
    start=date(2026, 1, 1),
    end=date(2026, 12, 31),
    figures=FIGURES,
    positions=[18, 25],
)


def test_figures_are_exact_sums_by_class() -> None:
    assert (
        Figures(2, Decimal("5.5"), Decimal("11.1"), Decimal("1.5"), Decimal(0), Decimal(4))
        == FIGURES
    )


def test_the_canonical_content_is_stable_and_any_change_changes_the_digest() -> None:
    assert STATEMENT.canonical() == dataclasses.replace(STATEMENT).canonical()
    assert b'"points":"11.1"' in STATEMENT.canonical()
    changed = dataclasses.replace(
        STATEMENT, figures=dataclasses.replace(FIGURES, points=Decimal("12.1"))
    )
    assert changed.digest() != STATEMENT.digest()
    fewer = dataclasses.replace(STATEMENT, positions=[18])
    assert fewer.digest() != STATEMENT.digest()


def test_a_certificate_without_places_keeps_its_first_format_and_digest() -> None:
    assert b'"format":"volunteer-ledger-certificate/1"' in STATEMENT.canonical()
    assert b"places" not in STATEMENT.canonical() and served_in(STATEMENT) == ""
    placed = dataclasses.replace(STATEMENT, places=[Place(UUID(int=2), "果园社区", 2)])
    assert b'"format":"volunteer-ledger-certificate/2"' in placed.canonical()
    assert placed.digest() != STATEMENT.digest() and served_in(placed) == "果园社区"
    moved = dataclasses.replace(STATEMENT, places=[Place(UUID(int=2), "果园社区", 1)])
    assert moved.digest() != placed.digest()


def test_services_in_several_communities_are_each_stated_with_their_count() -> None:
    places = [Place(UUID(int=3), "第6社区", 2), Place(UUID(int=4), "第10社区", 1)]
    stated = dataclasses.replace(STATEMENT, places=places)
    assert served_in(stated) == "第6社区(2 次)、第10社区(1 次)共 2 个社区"


def test_a_number_is_checked_whole() -> None:
    number = new_number(2026)
    assert check_number(f"  {number.lower()} ") == number
    for bad in ("ZYFW-2026-23456789ABC1", "ZYFW-2026-23456789ABC", "x" * 400, 7, None):
        with pytest.raises(UnknownCertificate):
            check_number(bad)


def test_a_period_is_ordered_and_bounded() -> None:
    with pytest.raises(InvalidInput):
        check_period(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(OutOfRange):
        check_period(date(2000, 1, 1), date(2026, 1, 1))
    assert check_period(date(2026, 1, 1), date(2026, 1, 1)) == (date(2026, 1, 1), date(2026, 1, 1))
