"""Least privilege in the database: who may append events, who may write read models.

The owner creates the event store, the token table and the read side's registry, then
two roles: the application's, which may append events but never change or delete one,
and the projector's, which reads events and owns the read models.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ledger.application import Ledger
from ledger.database import eventsourcing_env
from projections import quarantine
from projections.runner import REGISTRY, create_registry
from projections.tokens import CREATE_TOKENS

GRANTS = """
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {app}, {projector};
GRANT CREATE ON SCHEMA public TO {projector};
GRANT SELECT, INSERT, MAINTAIN ON ledger_events TO {app};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app};
GRANT SELECT ON ledger_events TO {projector};
GRANT SELECT, INSERT, UPDATE ON api_tokens TO {app};
ALTER TABLE {registry} OWNER TO {projector};
ALTER TABLE {quarantine} OWNER TO {projector};
GRANT SELECT ON {registry}, {quarantine} TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {projector} IN SCHEMA public GRANT SELECT ON TABLES TO {app};
"""
"""The application may append events (INSERT; MAINTAIN for the library's ordering lock)
and read them, never change or delete one; the projector reads events and owns the read
models (it creates each new generation); the application reads the read models."""


def grant(url: str, app: str, projector: str, passwords: dict[str, str]) -> None:
    """As the database's owner: create the event store, the tokens and the read side's
    registry, the two roles if missing, and their least privileges."""
    Ledger(eventsourcing_env(url)).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE_TOKENS)
        with conn.cursor(row_factory=dict_row) as curs:
            create_registry(curs)
        for role in (app, projector):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            if passwords.get(role):
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(passwords[role])
                    )
                )
        names = {
            "app": sql.Identifier(app),
            "projector": sql.Identifier(projector),
            "registry": sql.Identifier(REGISTRY),
            "quarantine": sql.Identifier(quarantine.TABLE),
        }
        for statement in GRANTS.strip().split(";\n"):
            conn.execute(sql.SQL(statement.strip().rstrip(";")).format(**names))
