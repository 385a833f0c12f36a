"""Shared fixtures: a fresh SQLite database per test, a fresh PostgreSQL database per test run
(created with a unique name, dropped afterwards), the packaged product, a frozen clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from egide.db.engine import make_engine
from egide.db.migrate import upgrade
from egide.db.uow import SqlUnitOfWork
from egide.domain.product import Product, load_product

REPO = Path(__file__).resolve().parent.parent
# Copies of the files the tests read from ../shared/data (the company's real data, with its
# provenance), kept in the repository so that a clean checkout anywhere runs the same tests;
# test_shared_data.py checks that they still match ../shared/data where it is present.
SHARED_DATA = REPO / "tests" / "data"
EXAMPLES = REPO / "examples"
PG_ADMIN_URL = os.environ.get(
    "EGIDE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# .ci/run sets EGIDE_REQUIRE_POSTGRES=1: there an unreachable server fails the run instead of skipping.
REQUIRE_PG = os.environ.get("EGIDE_REQUIRE_POSTGRES") == "1"


@pytest.fixture(autouse=True)
def _no_default_database(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes to the user's database: the default location points into a temp folder
    (tests that need a database set EGIDE_DATABASE_URL themselves, e.g. with `cli_env`)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("EGIDE_DATABASE_URL", raising=False)
    monkeypatch.delenv("EGIDE_NOW", raising=False)


@pytest.fixture(scope="session")
def product() -> Product:
    return load_product()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'egide.db'}"
    upgrade(url)
    return url


@pytest.fixture
def uow(sqlite_url: str) -> SqlUnitOfWork:
    return SqlUnitOfWork.from_url(sqlite_url)


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> str:
    moment = "2026-12-01T10:00:00+01:00"
    monkeypatch.setenv("EGIDE_NOW", moment)
    return moment


@pytest.fixture
def cli_env(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at the test's SQLite database."""
    monkeypatch.setenv("EGIDE_DATABASE_URL", sqlite_url)
    return sqlite_url


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database migrated to head, dropped after the test."""
    problem = _pg_reachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(
                f"PostgreSQL is required (EGIDE_REQUIRE_POSTGRES=1) but unreachable at {PG_ADMIN_URL}: {problem}"
            )
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem}); set EGIDE_TEST_POSTGRES_URL"
        )
    name = f"egide_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request: pytest.FixtureRequest) -> str:
    """Run a test on both backends."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


def make_uow(url: str) -> SqlUnitOfWork:
    return SqlUnitOfWork.from_engine(make_engine(url))
