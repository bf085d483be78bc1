from pathlib import Path

from ledger.database import eventsourcing_env
from ledger.settings import load_settings


def test_without_database_url_the_embedded_server_is_used(tmp_path: Path):
    settings = load_settings({"LEDGER_DATA_DIR": str(tmp_path)})
    assert settings.embedded
    assert settings.pgdata == tmp_path / "pgdata"


def test_the_id_hash_key_is_generated_once_and_kept(tmp_path: Path):
    first = load_settings({"LEDGER_DATA_DIR": str(tmp_path)}).id_hash_key
    again = load_settings({"LEDGER_DATA_DIR": str(tmp_path)}).id_hash_key
    assert first == again and len(first) == 32
    assert load_settings(
        {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_ID_HASH_KEY": "ab" * 16}
    ).id_hash_key == bytes.fromhex("ab" * 16)


def test_a_database_url_becomes_the_event_store_settings(tmp_path: Path):
    settings = load_settings(
        {"LEDGER_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u:p%40ss@db:6543/town"}
    )
    assert not settings.embedded
    env = eventsourcing_env(settings.database_url or "")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db",
        "6543",
        "town",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("u", "p@ss")


def test_an_embedded_socket_url_keeps_its_socket_directory():
    env = eventsourcing_env("postgresql://postgres:@/ledger?host=/tmp/x/pgdata")
    assert env["POSTGRES_HOST"] == "/tmp/x/pgdata"
    assert env["POSTGRES_DBNAME"] == "ledger"


def test_another_database_on_the_same_server_is_a_uri_asyncpg_accepts():
    from ledger.database import database_url

    assert database_url("postgresql://u:p%40ss@db:6543/town", "t1") == (
        "postgresql://u:p%40ss@db:6543/t1"
    )
    assert database_url("postgresql://postgres:@/ledger?host=/tmp/s", "t2") == (
        "postgresql://postgres@/t2?host=/tmp/s&port=5432"
    )


def test_the_public_url_is_an_http_address_without_a_trailing_slash(tmp_path: Path):
    import pytest

    base = {"LEDGER_DATA_DIR": str(tmp_path)}
    assert load_settings(base).public_url is None
    given = load_settings({**base, "LEDGER_PUBLIC_URL": "https://ledger.example.cn/"})
    assert given.public_url == "https://ledger.example.cn"
    for bad in ("ledger.example.cn", "javascript:alert(1)", "https://a b"):
        with pytest.raises(ValueError, match="LEDGER_PUBLIC_URL"):
            load_settings({**base, "LEDGER_PUBLIC_URL": bad})


def test_the_signing_key_is_kept_outside_the_data_directory(tmp_path: Path):
    data = tmp_path / "ledger"
    settings = load_settings({"LEDGER_DATA_DIR": str(data)})
    key_file = tmp_path / "ledger.keys" / "signing.key"
    assert bytes.fromhex(key_file.read_text()) == settings.signing_key
    assert (key_file.parent.stat().st_mode & 0o777, key_file.stat().st_mode & 0o777) == (
        0o700,
        0o600,
    )
    assert not any(p.name == "signing.key" for p in data.rglob("*"))
    assert settings.checkpoint_log == tmp_path / "ledger.log" / "checkpoints.jsonl"
    one, other = (
        load_settings({"LEDGER_DATA_DIR": str(data), "DATABASE_URL": f"postgresql://db/{name}"})
        for name in ("town", "city")
    )
    assert one.checkpoint_log != other.checkpoint_log  # one log per ledger
    assert one.checkpoint_log is not None and one.checkpoint_log.name.startswith(
        "checkpoints-town-"
    )


def test_a_signing_key_file_inside_the_data_directory_is_refused(tmp_path: Path):
    import pytest

    with pytest.raises(ValueError, match="数据目录"):
        load_settings(
            {
                "LEDGER_DATA_DIR": str(tmp_path),
                "LEDGER_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.key"),
            }
        )
