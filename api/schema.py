"""One schema from the feature modules, with the limits a public API needs."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from api.audit import AuditMutation, AuditQuery, AuditSubscription
from api.communities import CommunitiesMutation, CommunitiesQuery
from api.members import MembersMutation, MembersQuery
from api.services import ServicesMutation
from api.store import StoreMutation, StoreQuery
from api.units import UnitsMutation, UnitsQuery

Query = merge_types("Query", (MembersQuery, UnitsQuery, CommunitiesQuery, StoreQuery, AuditQuery))
Mutation = merge_types(
    "Mutation",
    (
        MembersMutation,
        UnitsMutation,
        CommunitiesMutation,
        ServicesMutation,
        StoreMutation,
        AuditMutation,
    ),
)
Subscription = merge_types("Subscription", (AuditSubscription,))

log = logging.getLogger("api")

MAX_DEPTH = 8
MAX_ALIASES = 20
MAX_TOKENS = 2000
CACHED_DOCUMENTS = 256  # parsed and validated query texts kept (kiosks send the same few)


def _unexpected(error: GraphQLError) -> bool:
    """Errors we raise on purpose (and GraphQL's own) carry no original error."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """Unexpected errors reach the client as a message and a correlation id only;
    the log keeps the details under the same id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        correlation_id = getattr(context, "correlation_id", "-")
        log.error(
            "unexpected error correlation_id=%s path=%s",
            correlation_id,
            error.path,
            exc_info=error.original_error,
        )
        masked = super().anonymise_error(error)
        masked.message = f"服务器内部错误,请联系管理员(编号 {correlation_id})"
        masked.extensions = {"code": "INTERNAL", "correlation_id": correlation_id}
        return masked


def build_schema(*, production: bool = False) -> strawberry.Schema:
    # Factories: each request gets extensions of its own.
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        MaskUnexpectedErrors,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
