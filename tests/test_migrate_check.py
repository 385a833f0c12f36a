"""The schema check without Alembic (`egide.db.migrate.is_current`): it reads the shipped revision
files and the ``alembic_version`` table itself, and must see exactly what Alembic sees, on SQLite
and on PostgreSQL, at head, behind and empty; a revision file it does not follow sends the
question to Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from egide.db import migrate
from egide.db.engine import make_engine
from egide.db.migrate import alembic_config, current_revisions, ensure_schema, is_current


def alembic_heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def alembic_current(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    engine.dispose()
    return current


def test_the_shipped_heads_are_alembics_heads() -> None:
    assert migrate.shipped_heads() == alembic_heads()
    assert len(alembic_heads()) == 1  # one line of migrations


def test_at_head_behind_and_at_base_the_check_reads_what_alembic_reads(any_url: str) -> None:
    engine = make_engine(any_url)
    try:
        assert current_revisions(engine) == alembic_current(any_url) == alembic_heads()
        assert is_current(engine, any_url)

        command.downgrade(alembic_config(any_url), "-1")
        behind = alembic_current(any_url)
        assert behind and behind != alembic_heads()
        assert current_revisions(engine) == behind
        assert not is_current(engine, any_url)

        command.downgrade(alembic_config(any_url), "base")  # the version table stays, empty
        assert current_revisions(engine) == alembic_current(any_url) == set()
        assert not is_current(engine, any_url)

        ensure_schema(engine, any_url)
        assert current_revisions(engine) == alembic_heads()
        assert is_current(engine, any_url)
    finally:
        engine.dispose()


def test_a_database_without_a_version_table_is_not_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    try:
        assert current_revisions(engine) == alembic_current(url) == set()
        assert not is_current(engine, url)
        ensure_schema(engine, url)
        assert is_current(engine, url)
    finally:
        engine.dispose()


def revision_file(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(f'"""{name}"""\n{body}\n', encoding="utf-8")


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(migrate, "MIGRATIONS", tmp_path)
    return versions


def test_the_reader_follows_a_line_and_a_merge(scripts: Path) -> None:
    revision_file(scripts, "a", 'revision = "a"\ndown_revision = None')
    revision_file(scripts, "b", 'revision: str = "b"\ndown_revision: str | None = "a"')
    assert migrate.shipped_heads() == {"b"}
    revision_file(scripts, "c", 'revision = "c"\ndown_revision = "a"')
    assert migrate.shipped_heads() == {"b", "c"}  # two branches: two heads
    revision_file(scripts, "d", 'revision = "d"\ndown_revision = ("b", "c")')
    assert migrate.shipped_heads() == {"d"}


@pytest.mark.parametrize(
    "body",
    [
        'revision = "b"\ndown_revision = "a"\nbranch_labels = ("feature",)',
        'revision = "b"\ndown_revision = "a"\ndepends_on = "x"',
        'revision = "b" + ""\ndown_revision = "a"',
        'revision = "b"\ndown_revision = PREVIOUS',
        'down_revision = "a"',
        'revision = "b"\ndown_revision = "missing"',
        'revision = "b"\ndown_revision = (',
    ],
)
def test_a_revision_file_beyond_the_reader_is_left_to_alembic(scripts: Path, body: str) -> None:
    revision_file(scripts, "a", 'revision = "a"\ndown_revision = None')
    revision_file(scripts, "b", body)
    assert migrate.shipped_heads() is None


def test_is_current_asks_alembic_when_the_reader_gives_up(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "shipped_heads", lambda: None)
    engine = make_engine(sqlite_url)
    try:
        assert is_current(engine, sqlite_url)
        command.downgrade(alembic_config(sqlite_url), "-1")
        assert not is_current(engine, sqlite_url)
    finally:
        engine.dispose()
