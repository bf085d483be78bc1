"""The Chinese words documents print for the ledger's enumerations."""

from __future__ import annotations

from ledger.domain.values import CategoryClass, Grade, MemberKind, Rating

CLASS_NAMES = {
    CategoryClass.ROUTINE: "日常服务",
    CategoryClass.SKILLED: "专业服务",
    CategoryClass.HARD: "急难险重",
}


def rating(name: str | None) -> str:
    return "—" if name is None else Rating[name].value


def grade(name: str | None) -> str:
    return "未评价" if name is None else Grade[name].value


def kind(name: str) -> str:
    return MemberKind[name].value
