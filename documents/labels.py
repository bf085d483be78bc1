"""The Chinese words documents print for the ledger's enumerations."""

from __future__ import annotations

from uuid import UUID

from ledger.domain.codes import ALPHABET
from ledger.domain.values import CategoryClass, Grade, MemberKind, Rating, Role
from projections.queries.names import ROLE_WORDS

CLASS_NAMES = {
    CategoryClass.ROUTINE: "日常服务",
    CategoryClass.SKILLED: "专业服务",
    CategoryClass.HARD: "急难险重",
}


def actor(role_name: str | None) -> str:
    """Who did something, as a reader of a paper is told: the role the event records
    (``Role`` by name; an actor id is a token's or a job's, which means nothing there)."""
    return "—" if role_name is None else ROLE_WORDS[Role[role_name]]


def rating(name: str | None) -> str:
    return "—" if name is None else Rating[name].value


def grade(name: str | None) -> str:
    return "未评价" if name is None else Grade[name].value


def kind(name: str) -> str:
    return MemberKind[name].value


TAG_LENGTH = 4


def member_tag(member_id: UUID) -> str:
    """Four characters that tell apart two members of one name in a file's name (20 bits
    of the member's id in the alphabet of member codes), never the id itself."""
    bits = member_id.int >> (128 - 5 * TAG_LENGTH)
    return "".join(ALPHABET[bits >> (5 * n) & 31] for n in reversed(range(TAG_LENGTH)))
