"""Query documents planned once, answered without graphql-core's per-request work.

A query that has been answered once without an error is *planned*: its selections
are collected, merged and resolved to the schema's fields once, by its text. The
next request with that text coerces its variables, calls the same resolvers
(strawberry's own wrappers, with the same info and arguments) and completes the
values by the plan. Anything a plan does not handle the way graphql-core does is
not planned (abstract types, directives, introspection, a middleware), and a
request whose answer would differ in any way from a plain ``{"data": …}`` (an
error, a null where null is not allowed, a value its type refuses, a variable
refused) gives up its plan and goes the long way, so its answer, errors
included, is graphql-core's. See docs/decisions/0030-planned-queries.md.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    get_named_type,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path, is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryMaybe
from strawberry.types.field import StrawberryField

from api.execution import LONG_WAY, PlainField, PlainRow, plain_fields
from api.limits import CACHED_DOCUMENTS, parse_document


class GiveUp(Exception):
    """This request's answer is not a plain ``{"data": …}``: graphql-core answers it."""


@dataclass(slots=True)
class Selection:
    """One response key of an object's selection, merged over its field nodes."""

    key: str
    nodes: list[FieldNode]
    field: GraphQLField | None  # None: __typename
    plain: PlainField | None
    direct: Direct | None
    takes_arguments: bool
    inner: ObjectPlan | None  # the selection of the (innermost) object type


@dataclass(frozen=True, slots=True)
class Direct:
    """A strawberry resolver called as strawberry's wrapper calls it, for a field with
    no field extensions, no exception handler, and arguments that are scalars or enums
    (which strawberry passes on as graphql-core coerced them: its enum types parse a
    name into the Python member), under their Python names."""

    field: StrawberryField
    names: dict[str, str]  # GraphQL name: Python name
    info_class: type
    self_parameter: bool
    parent: str | None
    root: str | None
    info: str | None

    @classmethod
    def of(cls, schema: strawberry.Schema, field: GraphQLField) -> Direct | None:
        definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if (
            not isinstance(definition, StrawberryField)
            or definition.base_resolver is None
            or definition.extensions
            or schema.schema_converter._get_field_exception_handlers(definition)
        ):
            return None
        names = {}
        for argument in definition.arguments:
            name = schema.config.name_converter.from_argument(argument)
            type_ = field.args[name].type
            if isinstance(type_, GraphQLNonNull):
                type_ = type_.of_type
            if (
                not isinstance(type_, GraphQLScalarType | GraphQLEnumType)
                or type_.name == "GlobalID"
                or isinstance(argument.type, StrawberryMaybe)
            ):
                return None  # strawberry converts it
            assert argument.python_name
            names[name] = argument.python_name
        resolver = definition.base_resolver
        parameter = resolver.info_parameter
        return cls(
            definition,
            names,
            schema.config.info_class,
            resolver.self_parameter is not None,
            resolver.parent_parameter.name if resolver.parent_parameter else None,
            resolver.root_parameter.name if resolver.root_parameter else None,
            parameter.name if parameter else None,
        )

    def __call__(self, source: Any, raw: Any, arguments: dict[str, Any]) -> Any:
        kwargs = {self.names[name]: value for name, value in arguments.items()}
        info = self.info_class(_raw_info=raw, _field=self.field)
        for name in (self.parent, self.root):
            if name is not None:
                kwargs[name] = source
        if self.info is not None:
            kwargs[self.info] = info
        args = [source] if self.self_parameter else []
        return self.field.get_result(source, info=info, args=args, kwargs=kwargs)


@dataclass(slots=True)
class ObjectPlan:
    type: GraphQLObjectType
    selections: list[Selection]
    resolves: bool  # some field here or below has a resolver (may be awaited)
    head: PlainRow | None  # the plain fields before any other: read as one row
    rest: list[Selection]  # the selections after them

    @property
    def row(self) -> PlainRow | None:
        """The whole selection as one row, when every field of it is plain."""
        return None if self.rest else self.head


class Unplannable(Exception):
    pass


class _Planner:
    def __init__(self, schema: strawberry.Schema, document: DocumentNode) -> None:
        self.strawberry = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def object(self, parent: GraphQLObjectType, sets: list[SelectionSetNode]) -> ObjectPlan:
        if parent.is_type_of is not None:
            raise Unplannable(parent.name)
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in sets:
            self._collect(parent, selection_set, grouped, set())
        fields = parent.fields
        plains = plain_fields(parent)
        selections = []
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            if any(node.name.value != name for node in nodes):
                raise Unplannable(key)  # validation forbids it; never planned
            if name == "__typename":
                selections.append(Selection(key, nodes, None, None, None, False, None))
                continue
            if name.startswith("__") or name not in fields:
                raise Unplannable(name)
            field = fields[name]
            inner = None
            named = get_named_type(field.type)
            if isinstance(named, GraphQLObjectType):
                inner = self.object(named, [n.selection_set for n in nodes if n.selection_set])
            elif not isinstance(named, GraphQLLeafType):
                raise Unplannable(name)  # an interface or a union
            plain = plains.get(name)
            direct = None if plain else Direct.of(self.strawberry, field)
            selections.append(Selection(key, nodes, field, plain, direct, bool(field.args), inner))
        leading = 0
        while leading < len(selections) and selections[leading].plain is not None:
            leading += 1
        head = PlainRow.of([(s.key, s.plain) for s in selections[:leading] if s.plain is not None])
        rest = selections if head is None else selections[leading:]
        return ObjectPlan(parent, selections, any(_awaits(s) for s in selections), head, rest)

    def _collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise Unplannable("directive")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != parent.name:
                    raise Unplannable("type condition")
                self._collect(parent, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if (
                    fragment is None
                    or getattr(selection, "arguments", None)
                    or getattr(fragment, "variable_definitions", None)
                    or fragment.directives
                    or fragment.type_condition.name.value != parent.name
                ):
                    raise Unplannable("fragment")
                if name not in visited:
                    visited.add(name)
                    self._collect(parent, fragment.selection_set, grouped, visited)
            else:
                raise Unplannable(type(selection).__name__)


def _awaits(selection: Selection) -> bool:
    """Whether the selection's value may have to be awaited: a resolver's (not
    strawberry's read of an attribute), or one below it."""
    if selection.field is None or selection.plain is not None:
        return False
    if selection.inner is not None and selection.inner.resolves:
        return True
    return not getattr(selection.field.resolve, "_is_default", False)


@dataclass(slots=True)
class Plan:
    """A query document's operation, planned."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: ObjectPlan

    async def answer(self, variables: dict[str, Any] | None, context: Any) -> dict[str, Any]:
        """The ``data`` of the answer; ``GiveUp`` when it would not be that alone."""
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            raise GiveUp
        run = _Run(self, coerced, context)
        try:
            return await run.object(self.root, None, None)
        except BaseException:
            run.close()
            raise


class _Run:
    """One request's completion of a plan."""

    __slots__ = ("context", "pending", "plan", "variables")

    def __init__(self, plan: Plan, variables: VariableValues, context: Any) -> None:
        self.plan, self.variables, self.context = plan, variables, context
        self.pending: list[Any] = []

    def later(self, value: Any) -> Any:
        """An awaitable, remembered: if the plan gives up before awaiting it, it is
        closed rather than left to be collected unawaited."""
        self.pending.append(value)
        return value

    def close(self) -> None:
        for value in self.pending:
            if inspect.iscoroutine(value):
                value.close()  # one awaited already is done, and closing it does nothing

    def info(self, selection: Selection, parent: GraphQLObjectType, path: Path) -> Any:
        assert selection.field is not None
        return _OperationContextAwareGraphQLResolveInfo(
            selection.nodes[0].name.value,
            selection.nodes,
            selection.field.type,
            parent,
            path,
            self.plan.schema,
            self.plan.fragments,
            None,
            self.plan.operation,
            self.variables.coerced,  # as strawberry's execution context gives them
            self.context,
            is_awaitable,
            None,
            None,
            {},
        )

    def resolve(
        self, selection: Selection, parent: GraphQLObjectType, source: Any, path: Path
    ) -> Any:
        """A field's value from its resolver (strawberry's, with its arguments)."""
        field = selection.field
        assert field is not None
        arguments = (
            get_argument_values(field, selection.nodes[0], self.variables)
            if selection.takes_arguments
            else {}
        )
        info = self.info(selection, parent, path)
        if selection.direct is not None:
            value = selection.direct(source, info, arguments)
        elif field.resolve is None:
            raise GiveUp
        else:
            value = field.resolve(source, info, **arguments)
        return self.later(value) if is_awaitable(value) else value

    def fill(
        self, plan: ObjectPlan, source: Any, path: Path | None, waiting: list[Any] | None = None
    ) -> dict[str, Any]:
        """An object's plain fields, and its others resolved and completed; a value
        to await (a resolver's, or a completion's) is left in ``waiting``, or without
        it gives the plan up."""
        data: dict[str, Any] = {}
        if plan.head is not None:
            head = plan.head.values(source)
            if head is None:
                raise GiveUp
            data = head
        for selection in plan.rest:
            plain = selection.plain
            if plain is not None:
                value = plain.value(source)
                if value is LONG_WAY:
                    raise GiveUp
            elif selection.field is None:
                value = plan.type.name
            else:
                here = Path(path, selection.key, plan.type.name)
                value = self.resolve(selection, plan.type, source, here)
                completed = not is_awaitable(value)
                if completed:
                    value = self.complete(selection.field.type, selection.inner, value, here)
                if is_awaitable(value):
                    if waiting is None:
                        raise GiveUp
                    waiting.append((selection, here, value, completed))
                    value = None  # in its place, till it is known
            data[selection.key] = value
        return data

    async def object(self, plan: ObjectPlan, source: Any, path: Path | None) -> dict[str, Any]:
        """An object whose fields (or fields below them) are resolved by awaiting: all
        of them are awaited together, then completed, together too."""
        waiting: list[tuple[Selection, Path, Any, bool]] = []
        data = self.fill(plan, source, path, waiting)
        resolved = await _gather([w for _, _, w, _ in waiting])
        later = []
        for (selection, here, _, completed), value in zip(waiting, resolved, strict=True):
            assert selection.field is not None
            if not completed:
                value = self.complete(selection.field.type, selection.inner, value, here)
            if is_awaitable(value):
                later.append((selection.key, value))
            data[selection.key] = value
        await _settle(data, later)
        return data

    def complete(
        self, type_: GraphQLOutputType, inner: ObjectPlan | None, value: Any, path: Path
    ) -> Any:
        """A value completed by its type: plain data, or an awaitable of it."""
        if isinstance(value, Exception):
            raise GiveUp
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                raise GiveUp
            type_ = type_.of_type
        elif value is None:
            return None
        if isinstance(type_, GraphQLList):
            if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
                raise GiveUp
            if (
                inner is not None
                and inner.row is not None
                and isinstance(type_.of_type, GraphQLNonNull)
            ):
                rows = [inner.row.values(item) for item in value]  # a page of rows
                if None in rows:
                    raise GiveUp  # a null, or a value graphql-core should decide
                return rows
            items = [
                self.complete(type_.of_type, inner, item, path.add_key(i, None))
                for i, item in enumerate(value)
            ]
            later = [(i, item) for i, item in enumerate(items) if is_awaitable(item)]
            return self.later(_settled(items, later)) if later else items
        if isinstance(type_, GraphQLLeafType):
            coerced = type_.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                raise GiveUp
            return coerced
        assert inner is not None
        if inner.resolves:
            return self.later(self.object(inner, value, path))
        return self.fill(inner, value, path)


async def _gather(awaitables: list[Any]) -> list[Any]:
    """All of them awaited together (so loaders batch as they do under graphql-core);
    if one fails, the others still finish before the plan gives up. One alone is
    awaited as it is, without a task."""
    if len(awaitables) < 2:
        return [await a for a in awaitables]
    done = await asyncio.gather(*awaitables, return_exceptions=True)
    if any(isinstance(d, BaseException) for d in done):
        raise GiveUp
    return done


async def _settle(into: Any, later: list[tuple[Any, Any]]) -> None:
    """Each awaitable's value put in its place (a key of an object, an index of a list)."""
    for (place, _), value in zip(later, await _gather([a for _, a in later]), strict=True):
        into[place] = value


async def _settled(items: list[Any], later: list[tuple[int, Any]]) -> list[Any]:
    await _settle(items, later)
    return items


class Plans:
    """The plans of the documents answered so far, by query text and operation name."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self.schema = schema
        # A middleware (an extension's ``resolve``) sees every field: then nothing is planned.
        self.short = not any(e._implements_resolve() for e in schema.get_extensions())
        self._plans: collections.OrderedDict[tuple[str, str | None], Plan | None] = (
            collections.OrderedDict()
        )

    def get(self, query: str, operation_name: str | None) -> Plan | None:
        return self._plans.get((query, operation_name))

    def learn(self, query: str, operation_name: str | None) -> None:
        """Plan a document that has just been answered without an error."""
        key = (query, operation_name)
        if key in self._plans:
            return
        if len(self._plans) >= CACHED_DOCUMENTS:  # the oldest goes first
            self._plans.popitem(last=False)
        self._plans[key] = _plan(self.schema, query, operation_name) if self.short else None


def _plan(schema: strawberry.Schema, query_text: str, operation_name: str | None) -> Plan | None:
    document = parse_document(query_text)
    operation = get_operation_ast(document, operation_name)
    query = schema._schema.query_type
    if (
        operation is None
        or operation.operation is not OperationType.QUERY
        or operation.directives
        or query is None
    ):
        return None
    planner = _Planner(schema, document)
    try:
        root = planner.object(query, [operation.selection_set])
    except Unplannable:
        return None
    return Plan(schema._schema, operation, planner.fragments, root)
