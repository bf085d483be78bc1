"""Member codes: random cards kept as keyed hashes, phone codes that expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ledger.domain.codes import (
    ALPHABET,
    CARD_CODE_LENGTH,
    CODE_INPUT,
    PHONE_CODE_LENGTH,
    PHONE_CODE_SECONDS,
    UnknownCode,
    code_key,
    hash_card_code,
    new_card_code,
    new_reference,
    phone_code,
    read_code,
)
from ledger.domain.member import Member
from ledger.domain.values import Context, MemberKind, Role

KEY = code_key(b"id hash key")
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
CTX = Context(actor_id="admin-1", role=Role.ADMIN)


def test_card_codes_are_random_in_an_alphabet_without_look_alikes() -> None:
    codes = {new_card_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == CARD_CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert not set("01IO") & set(ALPHABET)


def test_a_card_code_is_found_by_its_keyed_hash_whatever_its_case_or_separators() -> None:
    code = new_card_code()
    digest = hash_card_code(code, KEY)
    assert code not in digest and len(digest) == 64
    assert hash_card_code(code, code_key(b"another key")) != digest
    spaced = " " + "-".join(code[i : i + 4] for i in range(0, len(code), 4)).lower() + " "
    assert read_code(spaced, KEY, NOW).code_hash == digest


def test_a_phone_code_carries_the_reference_until_it_expires() -> None:
    reference = new_reference()
    made = phone_code(reference, KEY, NOW)
    assert len(made.code) == PHONE_CODE_LENGTH and reference not in made.code.lower()
    assert made.expires_at == NOW + timedelta(seconds=PHONE_CODE_SECONDS)
    almost = NOW + timedelta(seconds=PHONE_CODE_SECONDS - 1)
    assert read_code(made.code, KEY, almost).reference == reference
    with pytest.raises(UnknownCode):
        read_code(made.code, KEY, made.expires_at)


def test_a_phone_code_altered_or_signed_with_another_key_is_unknown() -> None:
    made = phone_code(new_reference(), KEY, NOW)
    last = made.code[-1]
    altered = made.code[:-1] + (ALPHABET[0] if last != ALPHABET[0] else ALPHABET[1])
    with pytest.raises(UnknownCode):
        read_code(altered, KEY, NOW)
    with pytest.raises(UnknownCode):
        read_code(made.code, code_key(b"another key"), NOW)


@pytest.mark.parametrize(
    "code",
    ["", "   ", "ABC", "0" * CARD_CODE_LENGTH, "张" * CARD_CODE_LENGTH, "A" * (CODE_INPUT + 1)],
)
def test_malformed_codes_are_unknown_before_any_lookup(code: str) -> None:
    with pytest.raises(UnknownCode) as refused:
        read_code(code, KEY, NOW)
    assert refused.value.code == "UNKNOWN_CODE" and "过期" in refused.value.message


def test_a_new_card_replaces_the_hash_and_the_reference_of_the_old_one() -> None:
    member = Member(uuid4(), MemberKind.RESIDENT, "王五", None, None, None, uuid4(), None, ctx=CTX)
    assert member.card_hash is None and member.card_reference is None
    member.issue_card("hash-1", "ref-1", CTX)
    member.issue_card("hash-2", "ref-2", CTX)
    assert (member.card_hash, member.card_reference) == ("hash-2", "ref-2")
    assert [type(e).__name__ for e in member.collect_events()][-2:] == ["CardIssued"] * 2
