"""What one GraphQL request may cost, checked before validation and execution.

graphql-core validates a document by walking it with every fragment spread
expanded: a kilobyte of fragments that each spread the next one twice expands
to 2^30 fields and would hold the event loop for minutes. Here each fragment is
measured once (memoised), so the measure takes time linear in the document's
size, and a document over a limit is refused before anything walks it.

An introspection document (one that selects nothing but ``__schema`` and ``__type``, as
GraphiQL's and graphql-core's standard introspection query do) is bounded on its own:
it nests deeper than any read of the ledger's data, and what it reads is the schema, not
the database. graphql-core's ``MaxIntrospectionDepthRule`` then bounds how often its
lists nest, and ``--production`` refuses it whole.

Strings in the document and in its variables are checked here too: a NUL or a
lone surrogate can be neither stored by PostgreSQL nor encoded as UTF-8.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    parse,
)
from graphql import validate as graphql_validate
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

MAX_DEPTH = 10
"""Nesting of selections, fragments expanded."""
MAX_FIELDS = 1000
"""Fields a document selects, every fragment spread expanded (its cost)."""
MAX_ALIASES = 20
INTROSPECTION_MAX_DEPTH = 16
"""An introspection document's nesting: the standard query's is 15 (a field's argument's
type, unwrapped nine times)."""
INTROSPECTION_MAX_FIELDS = 400
"""An introspection document's fields, fragments expanded: the standard query's are 229."""
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
MAX_MERGES = 1000
"""Comparisons of two selections under one response name (each weighted by the fields
beneath it), which validation makes to check they can be merged."""
MAX_TOKENS = 2000
MAX_QUERY_CHARS = 20_000
MAX_VARIABLE_DEPTH = 10
"""Nesting of lists and objects in the variables."""
MAX_STRING_CHARS = 10_000
"""Any single string in a request; each field has a tighter bound of its own."""
CACHED_DOCUMENTS = 256


def limit_error(message: str, code: str = "QUERY_TOO_COMPLEX") -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


_REFUSED_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""Control characters (Unicode's category Cc) but tab and line breaks, and surrogates."""


def text_problem(value: str) -> str | None:
    """Why a string cannot be accepted (None: it can)."""
    if len(value) > MAX_STRING_CHARS:
        return f"字符串超过 {MAX_STRING_CHARS} 个字符"
    found = _REFUSED_CHARS.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "字符串包含空字符(NUL)"
    if "\ud800" <= char <= "\udfff":
        return "字符串包含无效的 Unicode 代理字符"
    return f"字符串包含控制字符 U+{ord(char):04X}"


@dataclass
class Cost:
    depth: int = 0
    fields: int = 0
    aliases: int = 0
    merges: int = 0
    """Comparisons validation makes to merge selections under one response name."""
    names: dict[str, tuple[int, int]] = field(default_factory=dict)
    """The response names selected at this level (inline fragments and spreads
    flattened, as validation collects them): how many times, and the most fields
    beneath one of them."""


@dataclass(frozen=True)
class Bounds:
    depth: int
    fields: int
    aliases: int


QUERY_BOUNDS = Bounds(MAX_DEPTH, MAX_FIELDS, MAX_ALIASES)
INTROSPECTION_BOUNDS = Bounds(INTROSPECTION_MAX_DEPTH, INTROSPECTION_MAX_FIELDS, MAX_ALIASES)


class _Measure:
    """Depth, expanded field count, aliases and merge comparisons of a document,
    fragments measured once."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.known: dict[str, Cost] = {}
        self.open: set[str] = set()
        self.bounds = QUERY_BOUNDS

    def root_fields(self, node: SelectionSetNode, seen: set[str]) -> set[str]:
        """The names of the fields selected at the root, through fragments (each fragment
        looked into once: ``seen``)."""
        names: set[str] = set()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                names |= self.root_fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                definition = self.fragments.get(name)
                if definition is not None and name not in seen:
                    seen.add(name)
                    names |= self.root_fields(definition.selection_set, seen)
        return names

    def level(self, node: SelectionSetNode | None) -> Cost:
        """The selections of an operation or a field: validation compares every two of
        them that share a response name, and what lies beneath each pair."""
        cost = self.selection_set(node)
        cost.merges += sum(
            count * (count - 1) // 2 * (1 + beneath) for count, beneath in cost.names.values()
        )
        self._check(cost)
        return cost

    def selection_set(self, node: SelectionSetNode | None) -> Cost:
        total = Cost()
        if node is None:
            return total
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.level(selection.selection_set)
                total.fields += 1 + inner.fields
                total.aliases += inner.aliases + (selection.alias is not None)
                total.depth = max(total.depth, 1 + inner.depth)
                total.merges += inner.merges
                name = (selection.alias or selection.name).value
                count, beneath = total.names.get(name, (0, 0))
                total.names[name] = (count + 1, max(beneath, inner.fields))
            elif isinstance(selection, InlineFragmentNode):
                self._add(total, self.selection_set(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                self._add(total, self.fragment(selection.name.value))
            self._check(total)
        return total

    def fragment(self, name: str) -> Cost:
        if name in self.known:
            return self.known[name]
        if name in self.open:
            raise limit_error(f"片段 {name} 循环引用自身", "GRAPHQL_VALIDATION_FAILED")
        definition = self.fragments.get(name)
        if definition is None:
            return Cost()  # validation reports the unknown fragment
        self.open.add(name)
        cost = self.selection_set(definition.selection_set)
        self.open.discard(name)
        self.known[name] = cost
        return cost

    @staticmethod
    def _add(total: Cost, inner: Cost) -> None:
        total.fields += inner.fields
        total.aliases += inner.aliases
        total.depth = max(total.depth, inner.depth)
        total.merges += inner.merges
        for name, (count, beneath) in inner.names.items():
            seen, most = total.names.get(name, (0, 0))
            total.names[name] = (seen + count, max(most, beneath))

    def _check(self, cost: Cost) -> None:
        bounds = self.bounds
        if cost.depth > bounds.depth:
            raise limit_error(f"查询嵌套过深(上限 {bounds.depth} 层)")
        if cost.fields > bounds.fields:
            raise limit_error(f"查询字段过多(展开片段后上限 {bounds.fields} 个)")
        if cost.aliases > bounds.aliases:
            raise limit_error(f"查询别名过多(上限 {bounds.aliases} 个)")
        if cost.merges > MAX_MERGES:
            raise limit_error(f"查询中同名字段重复过多(合并比较上限 {MAX_MERGES} 次)")


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def parse_document(query: str) -> DocumentNode:
    """A query text's document, parsed within the parser's bounds and kept per text:
    what is worked out from a document (its measure, its validation) is kept by the
    text too, whose hash Python computes once, rather than by the document, whose
    hash walks every node."""
    return parse(query, max_tokens=MAX_TOKENS, max_source_length=MAX_QUERY_CHARS)


def check_document(query: str) -> None:
    """Raise a GraphQLError if the query's document is over a limit or holds a bad string."""
    if (refusal := _refusal(query)) is not None:
        raise refusal


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def _refusal(query: str) -> GraphQLError | None:
    """The document's measure, kept per query text like its validation."""
    try:
        _measure(parse_document(query))
    except GraphQLError as error:
        return error
    return None


def _measure(document: DocumentNode) -> None:
    measure = _Measure(document)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    seen: set[str] = set()
    roots = set().union(*(measure.root_fields(o.selection_set, seen) for o in operations))
    if roots & INTROSPECTION_FIELDS and roots <= INTROSPECTION_FIELDS | {"__typename"}:
        measure.bounds = INTROSPECTION_BOUNDS  # a read of the schema alone
    for operation in operations:
        measure.level(operation.selection_set)
    for node in _walk(document):
        if isinstance(node, StringValueNode) and (problem := text_problem(node.value)):
            raise limit_error(f"输入无效:{problem}", "INVALID_INPUT")


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for key in current.keys:
            child = getattr(current, key, None)
            if isinstance(child, Node):
                stack.append(child)
            elif isinstance(child, tuple | list):
                stack.extend(c for c in child if isinstance(c, Node))


def check_variables(value: Any, depth: int = 0) -> None:
    """Raise a GraphQLError for variables nested too deep or holding a bad string."""
    if depth > MAX_VARIABLE_DEPTH:
        raise limit_error(f"变量嵌套过深(上限 {MAX_VARIABLE_DEPTH} 层)", "INVALID_INPUT")
    if isinstance(value, str):
        if problem := text_problem(value):
            raise limit_error(f"输入无效:{problem}", "INVALID_INPUT")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_variables(key, depth + 1)
            check_variables(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_variables(item, depth + 1)


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def validate(
    schema: GraphQLSchema, query: str, rules: tuple[Any, ...], hide_suggestions: bool
) -> list[GraphQLError]:
    """Validation of a query text's document, kept per text: a repeated query is
    validated once."""
    rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    errors = graphql_validate(
        schema, parse_document(query), rules, hide_suggestions=hide_suggestions
    )
    for error in errors:  # every refusal carries a code
        aborted = isinstance(error, ValidationAbortedError)
        code = "QUERY_TOO_COMPLEX" if aborted else "GRAPHQL_VALIDATION_FAILED"
        error.extensions = {"code": code, **(error.extensions or {})}
    return errors


class RequestLimits(SchemaExtension):
    """Parse within bounds, refuse a document over the limits, then validate it.

    Stands in for strawberry's ``ParserCache``, ``ValidationCache`` and its depth and alias
    limiters: those walk the document with fragments expanded, so they must
    never see a document that has not been measured first.
    ``hide_suggestions`` keeps "did you mean" hints (which name schema fields)
    out of the answers where introspection is off.
    """

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        super().__init__()
        self.hide_suggestions = hide_suggestions

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            try:
                context.graphql_document = parse_document(context.query)
            except GraphQLError as error:
                error.extensions = {"code": "GRAPHQL_PARSE_FAILED", **(error.extensions or {})}
                raise
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        try:
            if query is None or context.graphql_document is None:
                raise limit_error("缺少查询", "GRAPHQL_PARSE_FAILED")
            check_document(query)
            check_variables(context.variables or {})
        except GraphQLError as error:
            context.pre_execution_errors = [error]
        else:
            context.pre_execution_errors = validate(
                context.schema._schema,
                query,
                tuple(context.validation_rules),
                self.hide_suggestions,
            )
        yield
