"""What the documents need beyond the other read models: which street each community
belongs to (a street's letters in bulk), and the certificates issued (a member's list)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.domain.certificate import Certificate
from ledger.domain.organisation import Community, Street
from projections.base import ReadModel, Table, event_class

PLACES = Table(
    "document_places",
    (("id", "uuid"), ("street_id", "uuid"), ("name", "text")),
    key=("id",),
    indexes=(("street_id",),),
)
CERTIFICATES = Table(
    "document_certificates",
    (
        ("number", "text"),
        ("member_id", "uuid"),
        ("community_id", "uuid"),
        ("period_start", "date"),
        ("period_end", "date"),
        ("services", "integer"),
        ("hours", "numeric"),
        ("points", "numeric"),
        ("digest", "text"),
        ("issued_at", "timestamptz"),
        ("position", "bigint"),
    ),
    key=("number",),
    indexes=(("member_id",),),
)


class Documents(ReadModel):
    name = "documents"
    tables = (PLACES, CERTIFICATES)

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(Street, "Registered"): "on_street",
            event_class(Community, "Registered"): "on_community",
            event_class(Certificate, "Issued"): "on_certificate",
        }

    def on_street(self, event: Any, street_id: UUID, _: int) -> None:
        self.rows["document_places"].put({"id": street_id, "street_id": None, "name": event.name})

    def on_community(self, event: Any, community_id: UUID, _: int) -> None:
        self.rows["document_places"].put(
            {"id": community_id, "street_id": event.street_id, "name": event.name}
        )

    def on_certificate(self, event: Any, _: UUID, position: int) -> None:
        statement = event.statement
        self.rows["document_certificates"].put(
            {
                "number": statement.number,
                "member_id": statement.member_id,
                "community_id": statement.community_id,
                "period_start": statement.start,
                "period_end": statement.end,
                "services": statement.figures.services,
                "hours": statement.figures.hours,
                "points": statement.figures.points,
                "digest": event.digest,
                "issued_at": event.timestamp,
                "position": position,
            }
        )
