"""成员: party members, residents and volunteers, with minimal personal data."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import AlreadyReported, InvalidInput, NotResident, UnknownDevice
from ledger.domain.limits import (
    FREE_TEXT,
    NATIONAL_ID_INPUT,
    NATIONAL_ID_PATTERN,
    ORG_NAME,
    PERSON_NAME,
    PHONE_INPUT,
    PHONE_PATTERN,
)
from ledger.domain.organisation import Unit
from ledger.domain.text import clean_optional, clean_text
from ledger.domain.values import Context, MemberKind, Role, day, stable_id


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits: 138****1234."""
    if not isinstance(phone, str) or len(phone) > PHONE_INPUT:
        raise InvalidInput(reason="手机号格式不正确")
    digits = phone.strip().replace(" ", "").replace("-", "")
    if not PHONE_PATTERN.fullmatch(digits):
        raise InvalidInput(reason="手机号格式不正确")
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """What a kiosk shows: 张*丰, 李*."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


FULL_NAME_READERS = frozenset({Role.ADMIN, Role.COMMUNITY, Role.UNIT, Role.MEMBER})


def reads_full_names(role: Role | None) -> bool:
    """Whether a reader in ``role`` reads people's full names: those who run a member's
    community or unit, and the member; a kiosk, an auditor and the public read them masked."""
    return role in FULL_NAME_READERS


def normalise_national_id(national_id: str) -> str:
    """A national ID number as it is hashed: stripped, X upper-case, 18 ASCII characters."""
    if not isinstance(national_id, str) or len(national_id) > NATIONAL_ID_INPUT:
        raise InvalidInput(reason="身份证号格式不正确")
    normalised = national_id.strip().upper()
    if not NATIONAL_ID_PATTERN.fullmatch(normalised):
        raise InvalidInput(reason="身份证号格式不正确")
    return normalised


def hash_national_id(national_id: str, key: bytes) -> str:
    """A keyed hash of a national ID number, for de-duplication; the number is never stored."""
    normalised = normalise_national_id(national_id)
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def member_id_for(id_hash: str) -> UUID:
    """Members registered with an ID number get an id derived from it, so a second
    registration of the same person collides in the event store."""
    return stable_id("member", id_hash)


class Member(LedgerAggregate):
    card_hash: str | None = None
    """The keyed hash of the member's current card code (积分卡); the code is never kept."""
    card_reference: str | None = None
    """Random, issued with the card: what the member's phone codes carry."""

    @classmethod
    def create(
        cls,
        id: UUID,
        kind: MemberKind,
        name: str,
        community_id: UUID,
        ctx: Context,
        *,
        phone: str | None = None,
        id_hash: str | None = None,
        unit_id: UUID | None = None,
        grid_id: UUID | None = None,
        branch: str | None = None,
        team: str | None = None,
    ) -> Member:
        """Check what a registration gives; the phone number is kept masked only."""
        return cls(
            id=id,
            kind=kind,
            name=clean_text(name, "成员姓名", PERSON_NAME),
            phone_masked=mask_phone(phone) if phone else None,
            id_hash=id_hash,
            unit_id=unit_id,
            community_id=community_id,
            grid_id=grid_id,
            ctx=ctx,
            branch=clean_optional(branch, "党支部名称", ORG_NAME),
            team=clean_optional(team, "志愿者队伍名称", ORG_NAME),
        )

    @event("Registered")
    def __init__(
        self,
        id: UUID,
        kind: MemberKind,
        name: str,
        phone_masked: str | None,
        id_hash: str | None,
        unit_id: UUID | None,
        community_id: UUID,
        grid_id: UUID | None,
        ctx: Context,
        branch: str | None = None,
        team: str | None = None,
    ) -> None:
        self.kind = kind
        self.branch = branch  # 党支部 of a party member
        self.team = team  # 志愿者队伍 of a volunteer
        self.name = name
        self.phone_masked = phone_masked
        self.id_hash = id_hash
        self.unit_id = unit_id
        self.community_id = community_id
        self.grid_id = grid_id
        self.reported_on: date | None = None
        self.revoked_sign_ins: list[UUID] = []

    @property
    def reported(self) -> bool:
        return self.reported_on is not None

    def serves_in(self, community_id: UUID, unit: Unit | None) -> bool:
        """Where a member takes tasks: the community they live in (双报到), and the
        communities their unit is paired with (下沉)."""
        return community_id == self.community_id or (
            unit is not None and community_id in unit.paired
        )

    def report(self, community_id: UUID, on: date, ctx: Context) -> None:
        """双报到, member side: report to the community where the member lives."""
        on = day(on, "报到日期")
        if community_id != self.community_id:
            raise NotResident(member_id=self.id, community_id=community_id)
        if self.reported_on is not None:
            raise AlreadyReported(on=self.reported_on.isoformat())
        self._reported(community_id, on, ctx)

    @event("Reported")
    def _reported(self, community_id: UUID, on: date, ctx: Context) -> None:
        self.reported_on = on

    def move_unit(self, unit_id: UUID | None, ctx: Context) -> None:
        if unit_id != self.unit_id:
            self._unit_changed(unit_id, ctx)

    @event("UnitChanged")
    def _unit_changed(self, unit_id: UUID | None, ctx: Context) -> None:
        self.unit_id = unit_id

    def move_home(self, community_id: UUID, grid_id: UUID | None, ctx: Context) -> None:
        """Moving keeps the history; the member reports anew to the new community."""
        if (community_id, grid_id) != (self.community_id, self.grid_id):
            self._moved(community_id, grid_id, ctx)

    @event("Moved")
    def _moved(self, community_id: UUID, grid_id: UUID | None, ctx: Context) -> None:
        if community_id != self.community_id:
            self.reported_on = None
        self.community_id = community_id
        self.grid_id = grid_id

    def correct(
        self,
        reason: str,
        ctx: Context,
        *,
        name: str | None = None,
        phone: str | None = None,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
    ) -> None:
        """更正 what was registered wrongly (name, phone, grid, unit): one event naming
        the fields corrected and why, with the record as it now stands. Unlike a move,
        nothing happened to the member: the record was wrong."""
        reason = clean_text(reason, "更正原因", FREE_TEXT, multiline=True)
        name = self.name if name is None else clean_text(name, "成员姓名", PERSON_NAME)
        phone_masked = self.phone_masked if phone is None else mask_phone(phone)
        grid_id = self.grid_id if grid_id is None else grid_id
        unit_id = self.unit_id if unit_id is None else unit_id
        after = {"name": name, "phone_masked": phone_masked, "grid_id": grid_id, "unit_id": unit_id}
        fields = [f for f, value in after.items() if value != getattr(self, f)]
        if not fields:
            raise InvalidInput(reason="没有需要更正的内容(所给与现有记录相同)")
        self._corrected(fields, reason, name, phone_masked, grid_id, unit_id, ctx)

    @event("Corrected")
    def _corrected(
        self,
        fields: list[str],
        reason: str,
        name: str,
        phone_masked: str | None,
        grid_id: UUID | None,
        unit_id: UUID | None,
        ctx: Context,
    ) -> None:
        self.name = name
        self.phone_masked = phone_masked
        self.grid_id = grid_id
        self.unit_id = unit_id

    def issue_card(self, card_hash: str, reference: str, ctx: Context) -> None:
        """A new card: the previous card's code and phone codes stop working."""
        self._card_issued(card_hash, reference, ctx)

    @event("CardIssued")
    def _card_issued(self, card_hash: str, reference: str, ctx: Context) -> None:
        self.card_hash = card_hash
        self.card_reference = reference

    def revoke_sign_in(self, token_id: UUID, ctx: Context) -> None:
        """A phone signed in as the member may no longer act for them (lost, replaced)."""
        if token_id in self.revoked_sign_ins:
            raise UnknownDevice(id=token_id)  # no longer a device signed in
        self._sign_in_revoked(token_id, ctx)

    @event("SignInRevoked")
    def _sign_in_revoked(self, token_id: UUID, ctx: Context) -> None:
        self.revoked_sign_ins.append(token_id)
