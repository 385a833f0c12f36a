"""The SQLite database holds establishments' security answers: the folder Égide creates for it is
0700, the database file 0600, and SQLite's -wal and -shm files copy that mode, whatever the umask.
And a database URL is printed without its password (`display_url`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st

from egide.db.engine import UNPARSABLE_URL, display_url, make_engine
from egide.db.migrate import upgrade


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_and_stat(db: Path) -> dict[str, int]:
    """Write through make_engine and stat the files while the connection still holds the WAL."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            conn.commit()
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            return {p.name: mode(p) for p in files}
    finally:
        engine.dispose()


def test_the_folders_egide_creates_are_0700_and_the_database_its_wal_and_shm_0600(
    tmp_path: Path, umask_022: None
) -> None:
    db = tmp_path / "new" / "sub" / "egide.db"
    modes = write_and_stat(db)
    assert modes == {"egide.db": 0o600, "egide.db-wal": 0o600, "egide.db-shm": 0o600}
    assert mode(tmp_path / "new") == 0o700
    assert mode(tmp_path / "new" / "sub") == 0o700


def test_the_migrations_create_the_database_private_too(tmp_path: Path, umask_022: None) -> None:
    db = tmp_path / "data" / "egide.db"
    upgrade(f"sqlite:///{db}")
    assert (mode(db.parent), mode(db)) == (0o700, 0o600)
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
    assert "policies" in tables  # the pre-created empty file became a real database


def test_an_existing_folder_and_database_file_keep_their_mode(
    tmp_path: Path, umask_022: None
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o750)
    os.chmod(folder, 0o750)
    assert write_and_stat(folder / "fresh.db")["fresh.db"] == 0o600
    assert mode(folder) == 0o750
    old = folder / "old.db"
    old.touch()
    os.chmod(old, 0o640)
    assert write_and_stat(old)["old.db"] == 0o640  # the owner's choice, left alone


def test_an_in_memory_database_creates_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite:///:memory:")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    engine.dispose()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- display_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://egide:s3cret@db.example:5432/egide",
            "postgresql+psycopg://egide:***@db.example:5432/egide",
        ),
        ("postgresql://u:pa:ss@host/db", "postgresql://u:***@host/db"),  # ":" in the password
        ("postgresql://u:p%40s%3As@host/db", "postgresql://u:***@host/db"),  # escaped "@", ":"
        ("postgresql://u:s3cret@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
        ("postgresql://host/db?password=s3cret&sslmode=require", None),
        ("sqlite:////var/lib/egide/egide.db", "sqlite:////var/lib/egide/egide.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite:////tmp/a@b/egide.db", "sqlite:////tmp/a@b/egide.db"),  # shown as typed
        ("sqlite+pysqlcipher://:s3cret@/egide.db", "sqlite+pysqlcipher://:***@/egide.db"),
        ("postgresql://us/er:s3cret@host/db", "postgresql://host/…"),  # no user name: "/"
        ("postgresql://u@s3cret@host/db", "postgresql://host/…"),
        # unescaped "@" in the password: SQLAlchemy would show the rest of it as the host
        ("postgresql://u:p@ss3cret@host/db", "postgresql://host/…"),
        ("postgresql://u:p/a@s3cret@host:5432/db", "postgresql://host:5432/…"),
        ("postgresql://u:p@s3cret:x@host/db", "postgresql://host/…"),
        # malformed: no host, or the password where the port goes
        ("postgresql://u:s3cret", "postgresql://…"),
        ("postgresql://u:se@cret@host:99999999/db", "postgresql://…"),
        ("not a url s3cret", UNPARSABLE_URL),
        ("", UNPARSABLE_URL),
        ("://u:s3cret@host", UNPARSABLE_URL),
    ],
)
def test_a_database_url_is_shown_without_its_password(url: str, shown: str | None) -> None:
    out = display_url(url)
    assert "s3cret" not in out and "cret" not in out and "ss3" not in out
    if shown is not None:
        assert out == shown
    else:
        assert out.startswith("postgresql://host/db?") and "password=***" in out


def test_a_url_without_a_password_is_shown_whole() -> None:
    assert display_url("postgresql+psycopg://postgres@127.0.0.1:5432/test") == (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def test_a_sqlalchemy_url_object_is_masked_too() -> None:
    url = sa.engine.URL.create("postgresql+psycopg", "egide", "s3cret", "db", 5432, "egide")
    assert display_url(url) == "postgresql+psycopg://egide:***@db:5432/egide"


@given(st.text(alphabet="ab:@/?#%&= .", max_size=12), st.sampled_from(["", "/egide", "/e?x=1"]))
@example("@", "/egide")
@example(":/@", "")
def test_no_password_of_any_characters_is_ever_shown(middle: str, tail: str) -> None:
    password = f"Zq9{middle}Wk8"  # the ends are markers: a leak of a head or a tail shows one
    for pw in (password, quote(password, safe="")):
        out = display_url(f"postgresql+psycopg://egide:{pw}@db.example:5432{tail}")
        assert "Zq9" not in out and "Wk8" not in out, out


@given(st.text(max_size=60))
def test_display_url_never_raises(text: str) -> None:
    assert isinstance(display_url(text), str)
