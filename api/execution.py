"""graphql-core's executor with a short way for plain fields.

A ranking page is 50 rows of 21 columns: graphql-core resolves each of those 1,050
fields the long way (resolve info, strawberry's resolver wrapper, the completion
dispatch), which costs more than the statement under the page. A *plain* field
(a scalar or an enum read straight off its object: no resolver, no arguments, no
field extensions, no middleware) is here read and coerced directly; anything
unusual about its value (null where null is not allowed, an error, a value its type
refuses) goes the long way, so the answer, its errors included, is what
graphql-core gives (``tests/unit/test_execution.py`` compares them). See
docs/decisions/0026-plain-fields-short-way.md.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField

LONG_WAY = object()

AS_THEY_ARE: dict[GraphQLLeafType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}
"""graphql-core's scalars that answer a value of exactly one Python type with the
value itself (an ``Int`` one within 32 bits), as their coercion would."""


@dataclass(frozen=True, slots=True)
class PlainField:
    """How to answer one plain field: the attribute, its reader and its leaf type."""

    python_name: str
    read: Callable[[Any, str], Any]
    leaf: GraphQLLeafType
    non_null: bool
    same: type | None  # a value of exactly this type is its own answer (AS_THEY_ARE)
    declared: type | None  # the field's Python type: its values go straight to ``output``
    output: Callable[[Any], Any]  # the leaf type's coercion of a value to its answer

    def value(self, source: Any) -> Any:
        """The field's coerced value, or ``LONG_WAY`` when graphql-core should decide."""
        try:
            raw = self.read(source, self.python_name)
        except Exception:
            return LONG_WAY
        return self.coerce(raw)

    def coerce(self, raw: Any) -> Any:
        """``raw``, read off the object, coerced by the field's type (or ``LONG_WAY``)."""
        same: Any = self.same  # Any: no narrowing of raw to "type"
        if type(raw) is same and (same is not int or GRAPHQL_MIN_INT <= raw <= GRAPHQL_MAX_INT):
            return raw
        if raw is None:
            return LONG_WAY if self.non_null else None
        if isinstance(raw, Exception):
            return LONG_WAY
        try:
            coerced = self.leaf.coerce_output_value(raw)
        except Exception:
            return LONG_WAY
        return LONG_WAY if coerced is None or coerced is Undefined else coerced


@dataclass(frozen=True, slots=True)
class PlainRow:
    """An object's selection of plain fields only, all read by ``getattr``: their
    attributes are read at once, and the values their scalars answer as they are
    are taken without a call (a row of a ranking is 21 such fields)."""

    keys: tuple[str, ...]
    fields: tuple[PlainField, ...]
    read: Callable[[Any], tuple[Any, ...]]

    @classmethod
    def of(cls, keyed: list[tuple[str, PlainField]]) -> PlainRow | None:
        if len(keyed) < 2 or any(field.read is not getattr for _, field in keyed):
            return None  # attrgetter gives one name's value alone, not in a tuple
        keys, fields = zip(*keyed, strict=True)
        return cls(keys, fields, operator.attrgetter(*(f.python_name for f in fields)))

    def values(self, source: Any) -> dict[str, Any] | None:
        """The selection's answer, or None when graphql-core should decide. A value of
        its field's declared type (a UUID, a Decimal) is neither null nor an error: it
        goes to its type's coercion without those checks."""
        try:
            data = {}
            for key, field, raw in zip(self.keys, self.fields, self.read(source), strict=True):
                kind: Any = type(raw)
                if kind is field.same and (
                    kind is not int or GRAPHQL_MIN_INT <= raw <= GRAPHQL_MAX_INT
                ):
                    value = raw
                elif kind is field.declared:
                    value = field.output(raw)
                    if value is None or value is Undefined:
                        return None
                else:
                    value = field.coerce(raw)
                    if value is LONG_WAY:
                        return None
                data[key] = value
            return data
        except Exception:
            return None


_PLAIN: weakref.WeakKeyDictionary[GraphQLObjectType, dict[str, PlainField]] = (
    weakref.WeakKeyDictionary()
)


def plain_fields(parent_type: GraphQLObjectType) -> dict[str, PlainField]:
    """The plain fields of an object type by name (worked out once per type)."""
    known = _PLAIN.get(parent_type)
    if known is None:
        known = {}
        for name, field in parent_type.fields.items():
            definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            non_null = isinstance(field.type, GraphQLNonNull)
            leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if (
                isinstance(definition, StrawberryField)
                and getattr(field.resolve, "_is_default", False)
                and not field.args
                and isinstance(leaf, GraphQLScalarType | GraphQLEnumType)
                and definition.default_resolver is not None
            ):
                known[name] = PlainField(
                    definition.python_name,
                    definition.default_resolver,
                    leaf,
                    non_null,
                    AS_THEY_ARE.get(leaf),
                    _declared(definition),
                    leaf.coerce_output_value,
                )
        _PLAIN[parent_type] = known
    return known


def _declared(definition: StrawberryField) -> type | None:
    """The Python type a field declares (``UUID`` of ``UUID | None``), if a class."""
    declared = definition.type
    if isinstance(declared, StrawberryOptional):
        declared = declared.of_type
    if isinstance(declared, type) and not issubclass(declared, BaseException):
        return declared
    return None


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context; plain fields are answered the short way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A middleware (an extension's ``resolve``) sees every field: then none is plain.
        self._short = manager is None or not manager.middlewares

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        if self._short:
            plain = plain_fields(parent_type).get(field_details_list[0].node.name.value)
            if plain is not None:
                value = plain.value(source)
                if value is not LONG_WAY:
                    return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
