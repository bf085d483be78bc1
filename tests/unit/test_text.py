"""Text from outside is normalised, bounded and refused when it cannot be kept."""

import unicodedata

import pytest

from documents import file_name
from ledger.domain.errors import (
    EmptyText,
    ForbiddenCharacter,
    InvalidIdentifier,
    InvalidInput,
    InvalidText,
    TextTooLong,
    TooManyItems,
)
from ledger.domain.text import (
    clean_identifier,
    clean_items,
    clean_optional,
    clean_text,
    natural_key,
)


def test_a_nul_is_refused_and_named():
    with pytest.raises(ForbiddenCharacter) as raised:
        clean_text("a\x00b", "成员姓名", 50)
    assert raised.value.code == "FORBIDDEN_CHARACTER"
    assert "成员姓名" in raised.value.message and "U+0000" in raised.value.message


def test_a_lone_surrogate_is_refused():
    with pytest.raises(ForbiddenCharacter, match="U\\+D800"):
        clean_text("a\ud800b", "成员姓名", 50)
    with pytest.raises(ForbiddenCharacter, match="U\\+DFFF"):
        clean_text("\udfff", "成员姓名", 50)


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f", "\x85", "\x9f", "\x0b", "\x0c"])
def test_control_characters_are_refused_even_in_free_text(char):
    with pytest.raises(ForbiddenCharacter):
        clean_text(f"a{char}b", "姓名", 50)
    with pytest.raises(ForbiddenCharacter):
        clean_text(f"a{char}b", "评语", 500, multiline=True)


@pytest.mark.parametrize("char", ["\x1c", "\x1f", "\x85"])
def test_a_control_character_at_the_edge_is_refused_not_stripped_away(char):
    with pytest.raises(ForbiddenCharacter):
        clean_text(f"张三{char}", "姓名", 50)


@pytest.mark.parametrize(
    "char", ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
)
def test_noncharacters_are_refused(char):
    with pytest.raises(ForbiddenCharacter):
        clean_text(f"a{char}b", "姓名", 50)


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_bidirectional_controls_that_disguise_a_name_are_refused(char):
    with pytest.raises(ForbiddenCharacter):
        clean_text(f"张{char}三", "姓名", 50)


@pytest.mark.parametrize("text", ["a\nb", "a\tb", "a\u2028b", "a\u2029b", "a\rb"])
def test_a_single_line_field_takes_no_line_break_or_tab(text):
    with pytest.raises(ForbiddenCharacter):
        clean_text(text, "任务标题", 100)


def test_free_text_keeps_line_breaks_and_tabs_and_unifies_carriage_returns():
    assert clean_text(" 第一行\r\n第二行\r第三\t行\n", "评语", 500, multiline=True) == (
        "第一行\n第二行\n第三\t行"
    )


def test_surrounding_white_space_is_stripped_including_ideographic_space():
    assert clean_text("\u3000 张三\u00a0\t", "姓名", 50) == "张三"


@pytest.mark.parametrize("text", ["\u200b\u200b", "\u200d", "\u0301", "\u2060 \u3000"])
def test_text_with_nothing_visible_is_empty(text):
    with pytest.raises(EmptyText, match="需求描述不能为空"):
        clean_text(text, "需求描述", 500, multiline=True)
    assert clean_optional(text, "服务地点", 100) is None


def test_a_visible_character_among_invisible_ones_is_kept_with_them():
    assert clean_text("\u200b灯\u200b", "需求描述", 500) == "\u200b灯\u200b"


def test_inner_spaces_are_kept():
    assert clean_text("Li  Ming", "姓名", 50) == "Li  Ming"


def test_text_is_normalised_to_nfc():
    decomposed = "e\u0301"  # e + combining acute
    cleaned = clean_text(decomposed, "姓名", 50)
    assert cleaned == "\u00e9"
    assert unicodedata.is_normalized("NFC", cleaned)


def test_the_limit_counts_characters_after_normalisation():
    assert clean_text("e\u0301" * 50, "姓名", 50) == "\u00e9" * 50
    with pytest.raises(TextTooLong):
        clean_text("e\u0301" * 51, "姓名", 50)


def test_empty_or_blank_text_is_refused_when_required():
    for blank in ("", "   ", "\u3000"):
        with pytest.raises(EmptyText) as raised:
            clean_text(blank, "成员姓名", 50)
        assert raised.value.message == "成员姓名不能为空"


def test_empty_text_passes_when_not_required():
    assert clean_text("  ", "评语", 500, required=False) == ""


def test_text_longer_than_its_limit_is_refused_with_the_limit():
    assert clean_text("长" * 50, "成员姓名", 50) == "长" * 50
    with pytest.raises(TextTooLong) as raised:
        clean_text("长" * 51, "成员姓名", 50)
    assert raised.value.message == "成员姓名不能超过 50 个字(现有 51 个)"


def test_a_huge_text_is_refused_before_it_is_normalised():
    with pytest.raises(TextTooLong):
        clean_text("a" * 10_000_000, "姓名", 50)


@pytest.mark.parametrize("value", [None, 5, b"bytes", ["a"]])
def test_what_is_not_text_is_refused(value):
    with pytest.raises(InvalidText):
        clean_text(value, "姓名", 50)


def test_every_text_error_is_an_input_error():
    for error in (EmptyText, ForbiddenCharacter, TextTooLong, InvalidIdentifier, TooManyItems):
        assert issubclass(error, InvalidInput)


def test_optional_text_is_none_when_absent_or_blank():
    assert clean_optional(None, "党支部名称", 100) is None
    assert clean_optional("  ", "党支部名称", 100) is None
    assert clean_optional(" 第一支部 ", "党支部名称", 100) == "第一支部"
    with pytest.raises(ForbiddenCharacter):
        clean_optional("a\x00", "党支部名称", 100)


def test_a_list_is_bounded_in_items_and_each_item_is_checked():
    assert clean_items([" photo:ab ", "photo:cd"], "佐证材料", 2, 200) == ["photo:ab", "photo:cd"]
    with pytest.raises(TooManyItems):
        clean_items(["x"] * 3, "佐证材料", 2, 200)
    with pytest.raises(TextTooLong, match="第 2 项"):
        clean_items(["x", "y" * 201], "佐证材料", 2, 200)
    with pytest.raises(EmptyText):
        clean_items([""], "佐证材料", 2, 200)
    with pytest.raises(InvalidText):
        clean_items("photo", "佐证材料", 20, 200)  # type: ignore[arg-type]


def test_an_identifier_is_taken_exactly_or_refused():
    assert clean_identifier("token:3f2a-1_b.c", "终端编号") == "token:3f2a-1_b.c"
    for bad in ("", " req-1", "req-1 ", "请求", "a" * 129, "a\x00", None):
        with pytest.raises(InvalidIdentifier):
            clean_identifier(bad, "请求编号")


def test_names_with_numbers_sort_by_their_numbers() -> None:
    names = ["第10社区", "第2社区", "第11社区", "第1社区", "单位22", "单位3"]
    assert sorted(names, key=natural_key) == [
        "单位3",
        "单位22",
        "第1社区",
        "第2社区",
        "第10社区",
        "第11社区",
    ]


def test_a_documents_file_name_is_safe_on_any_file_system() -> None:
    assert file_name("证据材料", 2026, "张*丰", "a/b:c", extension="pdf") == (
        "证据材料-2026-张_丰-a_b_c.pdf"
    )
