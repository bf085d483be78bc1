"""Every bound on input, pinned: changing one is a decision, and fails here first."""

import unicodedata
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from api.limits import text_problem
from ledger.domain import limits, values


def test_text_lengths_are_fifty_for_a_person_and_a_hundred_for_an_organisation_or_title():
    assert limits.PERSON_NAME == 50
    assert limits.ORG_NAME == 100
    assert limits.TITLE == 100


def test_a_category_name_is_at_most_twenty_characters():
    assert limits.CATEGORY_NAME == 20


def test_free_text_is_at_most_five_hundred_characters():
    assert limits.FREE_TEXT == 500


def test_evidence_is_at_most_twenty_items_of_two_hundred_characters():
    assert (limits.MAX_EVIDENCE, limits.EVIDENCE_ITEM) == (20, 200)


def test_identifiers_are_up_to_128_ascii_letters_digits_and_dot_underscore_colon_hyphen():
    assert limits.IDENTIFIER == 128
    assert limits.IDENTIFIER_PATTERN.fullmatch("token:3f2a-._Z9" + "x" * 113)
    assert not limits.IDENTIFIER_PATTERN.fullmatch("x" * 129)
    for bad in ("", "req 1", "请求1", "req/1", "req\n"):
        assert not limits.IDENTIFIER_PATTERN.fullmatch(bad), bad


def test_an_import_record_number_is_at_most_sixty_four_characters():
    assert limits.RECORD_NUMBER == 64


def test_a_phone_number_is_seven_to_fifteen_ascii_digits_with_an_optional_plus():
    assert limits.PHONE_INPUT == 32
    assert limits.PHONE_PATTERN.fullmatch("+8613812345678")
    assert limits.PHONE_PATTERN.fullmatch("1234567")
    assert not limits.PHONE_PATTERN.fullmatch("123456")
    assert not limits.PHONE_PATTERN.fullmatch("1" * 16)
    assert not limits.PHONE_PATTERN.fullmatch("١٣٨١٢٣٤٥٦٧٨")  # Arabic-Indic digits


def test_a_national_id_is_seventeen_ascii_digits_and_a_check_digit_or_x():
    assert limits.NATIONAL_ID_INPUT == 32
    assert limits.NATIONAL_ID_PATTERN.fullmatch("11010519491231002X")
    assert not limits.NATIONAL_ID_PATTERN.fullmatch("11010519491231002x")
    assert not limits.NATIONAL_ID_PATTERN.fullmatch("11010519491231002X\n")


def test_counts_and_amounts():
    assert Decimal("100000") == limits.MAX_POINTS
    assert limits.MAX_QUANTITY == 10_000
    assert limits.MAX_CAPACITY == 10_000
    assert limits.MAX_TASK_DAYS == 7
    assert limits.MAX_LINES == 20
    assert limits.MAX_GRIDS == 200
    assert limits.MAX_PAIRED_COMMUNITIES == 500


def test_instants_run_from_2000_up_to_2100_china_standard_time():
    cst = ZoneInfo("Asia/Shanghai")
    assert datetime(2000, 1, 1, tzinfo=cst) == limits.EARLIEST
    assert datetime(2100, 1, 1, tzinfo=cst) == limits.LATEST
    assert (limits.FIRST_YEAR, limits.LAST_YEAR) == (2000, 2099)


def test_values_hands_out_the_same_bounds_it_always_named():
    assert (values.EARLIEST, values.LATEST) == (limits.EARLIEST, limits.LATEST)
    assert (values.MAX_POINTS, values.MAX_QUANTITY) == (limits.MAX_POINTS, limits.MAX_QUANTITY)


@pytest.mark.parametrize(
    ("bound", "low", "high", "above"),
    [
        (limits.POLICY_VERSION, 1, 1_000_000, False),
        (limits.POINTS_PER_HOUR, 0, 100, True),
        (limits.MULTIPLIER, 0, 10, False),
        (limits.MIN_ATTENDANCE, 0, 1, False),
        (limits.ROUTINE_DAILY_CAP_HOURS, 0, 24, True),
        (limits.ANNUAL_FLOOR_HOURS, 0, 1000, False),
        (limits.EXPIRY_YEARS_AFTER, 0, 10, False),
        (limits.RANKING_WEIGHT, 0, 1, False),
    ],
)
def test_the_rule_books_numbers_have_these_bounds(bound, low, high, above):
    assert (bound.low, bound.high, bound.above) == (low, high, above)
    assert (low in bound) is not above
    assert high in bound
    assert Decimal(high) + Decimal("0.0001") not in bound
    assert Decimal(low) - Decimal("0.0001") not in bound


def test_the_rule_book_has_at_most_300_categories_and_four_decimal_places():
    assert limits.MAX_CATEGORIES == 300
    assert limits.POLICY_DECIMAL_PLACES == 4
    assert limits.POLICY_NUMBER_CHARS == 32


def test_a_bool_is_not_a_number_in_any_range():
    assert True not in limits.MULTIPLIER
    assert "1" not in limits.MULTIPLIER
    assert 1.0 not in limits.MULTIPLIER


def test_a_request_string_refuses_exactly_control_characters_but_tab_and_breaks_and_surrogates():
    """The refused characters are Unicode's category Cc (but tab, line feed, carriage
    return) and the surrogates, over every code point."""
    refused = {c for c in map(chr, range(0x110000)) if text_problem(c) is not None}
    expected = {
        c
        for c in map(chr, range(0x110000))
        if (unicodedata.category(c) == "Cc" and c not in "\t\n\r") or "\ud800" <= c <= "\udfff"
    }
    assert refused == expected
    assert text_problem("a\x00") == "字符串包含空字符(NUL)"
    assert text_problem("a\ud800") == "字符串包含无效的 Unicode 代理字符"
    assert text_problem("a\x85b\x01") == "字符串包含控制字符 U+0085"
    assert text_problem("社区\t\n\r") is None
