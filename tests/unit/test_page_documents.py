"""Every GraphQL document a page sends is valid against schema.graphql, so a schema change
cannot silently break a page. The pages write their documents as gql`…` and fragment`…`
literals (api/static/common/app.js), which this test finds, composes as the page does (a
document with the fragments it spreads) and validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "static"
PAGES = sorted(
    path for path in STATIC.rglob("*.js") if "graphiql" not in path.relative_to(STATIC).parts
)
LITERAL = re.compile(r"\b(gql|fragment)`([^`]*)`")
SPREAD = re.compile(r"\.\.\.\s*([A-Za-z_]\w*)")


def literals() -> list[tuple[str, str, str]]:
    found = []
    for path in PAGES:
        for tag, text in LITERAL.findall(path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(STATIC)), tag, text))
    return found


def fragments() -> dict[str, str]:
    named: dict[str, str] = {}
    for where, tag, text in literals():
        if tag == "fragment":
            name = re.match(r"\s*fragment\s+(\w+)", text)
            assert name, f"{where}: a fragment literal must start with `fragment Name`"
            assert name.group(1) not in named, f"fragment {name.group(1)} written twice"
            named[name.group(1)] = text
    return named


def composed(text: str, named: dict[str, str]) -> str:
    used: list[str] = []

    def visit(body: str) -> None:
        for name in SPREAD.findall(body):
            if name != "on" and name not in used and name in named:
                used.append(name)
                visit(named[name])

    visit(text)
    return "\n".join([text, *(named[name] for name in used)])


DOCUMENTS = [(where, text) for where, tag, text in literals() if tag == "gql"]


def test_the_pages_have_documents_to_check():
    pages = {where.split("/")[0] for where, _ in DOCUMENTS}
    assert {"kiosk", "member", "workbench"} <= pages, pages


@pytest.mark.parametrize(("where", "text"), DOCUMENTS, ids=[w for w, _ in DOCUMENTS])
def test_each_document_is_valid_against_the_schema(where: str, text: str):
    assert "${" not in text, f"{where}: a document is one literal, without ${{…}}"
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    errors = validate(schema, parse(composed(text, fragments())))
    assert not errors, f"{where}: {[error.message for error in errors]}\n{text}"


def test_only_the_shared_client_talks_to_the_server():
    """A page cannot send a document this test did not see: it has no fetch of its own, and
    the shared client refuses a document that was not written as gql`…`."""
    for path in PAGES:
        source = path.read_text(encoding="utf-8")
        if path.name == "app.js":
            assert "DOCUMENTS.has(document)" in source
            continue
        assert "fetch(" not in source, path
        assert "XMLHttpRequest" not in source, path


def test_an_invalid_document_would_be_caught():
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    assert validate(schema, parse("{ member(id: 1) { noSuchField } }"))
