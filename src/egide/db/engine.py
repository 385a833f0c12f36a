"""Engines for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged commit survives a power cut or a
SIGKILL), foreign keys on, and a busy timeout so concurrent writers wait rather than fail at once.
The database holds establishments' security answers and incident details: a folder Égide creates
for it is 0700 and a database file it creates is 0600 before SQLite first opens it (SQLite gives
its -wal and -shm files the database file's mode). An existing folder or file keeps its mode.
A URL is printed or logged only through `display_url`, which masks its password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
UNPARSABLE_URL = "<unparsable database URL>"


def display_url(url: str | URL) -> str:
    """The database URL fit to print or log, its password masked: ``postgresql+psycopg://egide:
    ***@db:5432/egide``; a query parameter whose name holds "password" is masked too.

    Never raises, and never shows the password, even of a URL SQLAlchemy cannot parse or parses
    wrongly (an unescaped "@" in the password makes SQLAlchemy take the rest of it for the host):
    then only the scheme and the host are shown (``postgresql://db:5432/…``), or the scheme alone
    (``postgresql://…``) when no host can be told apart from a secret, or
    ``<unparsable database URL>``.
    """
    try:
        return _masked(url)
    except Exception:  # any malformed URL: keep only what is surely not secret
        pass
    try:
        return _scheme_and_host(str(url))
    except Exception:  # cannot happen (string slicing only); never let printing a URL fail
        return UNPARSABLE_URL


def _masked(url: str | URL) -> str:
    parsed = make_url(url)
    secret = {k: "MASKED" for k in parsed.query if "password" in k.lower()}
    no_credentials = parsed.username is None and parsed.password is None and not secret
    if isinstance(url, str):
        if no_credentials and parsed.get_backend_name() == "sqlite":
            return url  # a path and options, no secret: shown as typed (render would escape ":")
        # SQLAlchemy takes the first "@" after the user name as the end of the credentials; any
        # other "@" (unescaped in a password, or a user name with "/") may hide part of a
        # password in what it calls the host or the database: not trusted.
        expected = 0 if parsed.username is None else 1
        if url.partition("://")[2].count("@") != expected:
            raise ValueError("ambiguous credentials")
    if secret:
        parsed = parsed.update_query_dict(secret)
    shown = parsed.render_as_string(hide_password=True)
    return shown.replace("=MASKED", "=***") if secret else shown


def _scheme_and_host(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return UNPARSABLE_URL
    # A password comes before the last "@" (it may hold "@", ":" and "/"), so what follows the
    # last "@" never holds it; without "@" there is no password, but a malformed URL may still
    # put one where the port goes ("user:secret"): only a numeric port is shown.
    authority = rest.rpartition("@")[2].split("/", 1)[0].split("?", 1)[0]
    if not _HOST_PORT.fullmatch(authority):
        return f"{scheme}://…"
    return f"{scheme}://{authority}/…"


def _private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents, each 0700 whatever the umask."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # created meanwhile by another process: its mode is its own
            continue
        os.chmod(path, 0o700)


def _private_file(path: Path) -> None:
    """Create an empty `path` 0600 if it does not exist (SQLite takes an empty file as a new
    database, and its -wal and -shm files copy the mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
    finally:
        os.close(fd)


def make_engine(url: str, **kwargs: Any) -> Engine:
    # SQL parameters hold applications and claims: never in an error message or a traceback
    kwargs.setdefault("hide_parameters", True)
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not _is_uri(parsed):
            db_file = Path(parsed.database)
            _private_dirs(db_file.parent)
            _private_file(db_file)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE takes the write lock up front: two writers serialise instead of
            # deadlocking on lock upgrade, and a read-then-write sees a stable snapshot.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _is_uri(parsed: Any) -> bool:
    """A ``file:`` URI (``?uri=true``) names its file in SQLite's own syntax: left to SQLite."""
    return str(parsed.query.get("uri", "")).lower() in ("true", "1") or str(
        parsed.database
    ).startswith("file:")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
