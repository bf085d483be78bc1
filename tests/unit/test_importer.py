"""A bad row of an import file is reported with its reason, never a crash of the import."""

from datetime import UTC, datetime

import pytest

from ledger.importer import BadRow, parse

CATEGORIES = {"巡逻", "应急保障"}


def row(**change: str) -> dict[str, str]:
    good = {
        "record_id": "R1",
        "name": "张三",
        "national_id": "110105198001010011",
        "phone": "13800000001",
        "kind": "党员",
        "unit": "区财政局",
        "community": "果园社区",
        "street": "果园街道",
        "category": "巡逻",
        "date": "2025-06-01",
        "start": "09:00",
        "end": "11:00",
        "hours": "",
        "rating": "好",
    }
    return good | change


def test_a_good_row_parses():
    parsed = parse(2, row(), CATEGORIES)
    assert parsed.starts_at == datetime(2025, 6, 1, 1, tzinfo=UTC)
    assert parsed.record_id == "R1"


@pytest.mark.parametrize("date", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_a_date_outside_the_supported_years_is_a_bad_row(date):
    with pytest.raises(BadRow, match="超出支持的范围"):
        parse(2, row(date=date, end="", hours="2"), CATEGORIES)


@pytest.mark.parametrize("hours", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_hours_that_are_not_a_finite_number_are_a_bad_row(hours):
    with pytest.raises(BadRow, match="时长"):
        parse(2, row(end="", hours=hours), CATEGORIES)


@pytest.mark.parametrize("national_id", ["123", "11010519800101001\x00", "1" * 500])
def test_a_malformed_national_id_is_a_bad_row_before_it_makes_an_id(national_id):
    with pytest.raises(BadRow, match="身份证号"):
        parse(2, row(national_id=national_id), CATEGORIES)


@pytest.mark.parametrize(("record_id", "reason"), [("R\x001", "不允许的字符"), ("R" * 65, "64")])
def test_a_record_number_that_cannot_be_kept_is_a_bad_row(record_id, reason):
    with pytest.raises(BadRow, match=reason):
        parse(2, row(record_id=record_id), CATEGORIES)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("name", "a\x00b", "姓名包含不允许的字符"),
        ("name", "\ud800", "姓名包含不允许的字符"),
        ("name", "长" * 51, "姓名不能超过 50"),
        ("street", "街\udfff", "街道包含不允许的字符"),
        ("community", "社" * 101, "社区不能超过 100"),
        ("unit", "单\x1b位", "单位包含不允许的字符"),
        ("phone", "138\ud80012345678", "手机号"),
    ],
)
def test_text_that_makes_an_id_is_checked_before_the_id_is_made(column, value, reason):
    with pytest.raises(BadRow, match=reason):
        parse(2, row(**{column: value}), CATEGORIES)


def test_text_is_kept_as_written_so_a_file_imported_before_finds_its_objects():
    decomposed = "Jose\u0301"
    assert parse(2, row(name=decomposed), CATEGORIES).name == decomposed
