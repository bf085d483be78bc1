"""One schema from the feature modules, with the limits a public API needs."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaskErrors
from strawberry.tools import merge_types

from api.audit import AuditMutation, AuditQuery, AuditSubscription
from api.communities import CommunitiesMutation, CommunitiesQuery
from api.documents import DocumentsMutation, DocumentsQuery
from api.execution import LeanExecutionContext
from api.inbox import InboxQuery
from api.limits import RequestLimits
from api.members import MembersMutation, MembersQuery
from api.needs import NeedsMutation, NeedsQuery
from api.presence import PresenceMutation, PresenceQuery
from api.scalars import SCALAR_OVERRIDES
from api.services import ServicesMutation
from api.signals import SignalsQuery
from api.store import StoreMutation, StoreQuery
from api.units import UnitsMutation, UnitsQuery
from api.viewer import ViewerQuery
from ledger.database import is_outage
from ledger.domain.errors import LedgerError

Query = merge_types(
    "Query",
    (
        ViewerQuery,
        MembersQuery,
        UnitsQuery,
        CommunitiesQuery,
        NeedsQuery,
        InboxQuery,
        StoreQuery,
        AuditQuery,
        SignalsQuery,
        DocumentsQuery,
        PresenceQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        MembersMutation,
        UnitsMutation,
        CommunitiesMutation,
        NeedsMutation,
        ServicesMutation,
        StoreMutation,
        AuditMutation,
        DocumentsMutation,
        PresenceMutation,
    ),
)
Subscription = merge_types("Subscription", (AuditSubscription,))

log = logging.getLogger("api")


def _unexpected(error: GraphQLError) -> bool:
    """Errors we raise on purpose (and GraphQL's own) carry no original error."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """Unexpected errors reach the client as a message and a correlation id only;
    the log keeps the details under the same id. The database being away is no
    bug: the client is told to retry (``UNAVAILABLE``)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        correlation_id = getattr(context, "correlation_id", "-")
        masked = super().anonymise_error(error)
        if isinstance(error.original_error, LedgerError):  # e.g. a record it cannot rebuild
            log.warning("refused correlation_id=%s path=%s: %s", correlation_id, error.path, error)
            masked.message = error.original_error.message
            masked.extensions = {
                "code": error.original_error.code,
                "correlation_id": correlation_id,
            }
            return masked
        if is_outage(error.original_error):
            log.warning(
                "database unavailable correlation_id=%s path=%s: %r",
                correlation_id,
                error.path,
                error.original_error,
            )
            masked.message = f"数据库暂时不可用,请稍后重试(编号 {correlation_id})"
            masked.extensions = {"code": "UNAVAILABLE", "correlation_id": correlation_id}
            return masked
        log.error(
            "unexpected error correlation_id=%s path=%s",
            correlation_id,
            error.path,
            exc_info=error.original_error,
        )
        masked.message = f"服务器内部错误,请联系管理员(编号 {correlation_id})"
        masked.extensions = {"code": "INTERNAL", "correlation_id": correlation_id}
        return masked


class LedgerSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Errors a client caused are logged without a traceback (unexpected ones were
        logged with theirs, under a correlation id, when they were masked)."""
        for error in errors:
            code = (error.extensions or {}).get("code", "GRAPHQL")
            log.info("client error code=%s path=%s: %s", code, error.path, error.message)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    extensions: list[Any] = [
        lambda: RequestLimits(hide_suggestions=production),
        MaskUnexpectedErrors,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return LedgerSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=LeanExecutionContext,
    )
