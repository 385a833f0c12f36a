"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed.

Every command that opens the database first checks that its schema is current. That check reads
the shipped revision files and the ``alembic_version`` table without loading Alembic (about a
tenth of a second of imports); Alembic is loaded when an upgrade is needed, or when a revision file
uses something the plain reader does not follow (branch labels, dependencies, computed values).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from egide.db.engine import normalise_url

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default: env.py does not rename it


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


# A module-level assignment of one of the names Alembic reads, on one line:
# ``revision = "0002"``, ``down_revision: str | None = "0001"``.
_HEADER = re.compile(
    r"^(revision|down_revision|branch_labels|depends_on)\b[ \t]*(?::[^=\n]*)?=(?!=)(.*)$",
    re.MULTILINE,
)


def shipped_heads() -> set[str] | None:
    """The head revisions of the shipped migrations, read from the files' ``revision`` and
    ``down_revision`` literals; None when a file is beyond this reader (Alembic must say).

    Each file's one-line module-level assignments are read as literals: the files are not
    parsed as a whole (that took 20 to 60 ms per command). A value that is not a one-line literal
    (computed, split over lines), a name assigned twice, or branch labels or dependencies make
    it give up."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        if path.name.startswith(("__init__", ".#")):  # the files Alembic skips
            continue
        values: dict[str, object] = {}
        for match in _HEADER.finditer(path.read_text(encoding="utf-8")):
            name, text = match.group(1), match.group(2).split("#", 1)[0].strip()
            if name in values:
                return None  # assigned twice: which one counts is Alembic's to say
            try:
                values[name] = ast.literal_eval(text)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return None  # computed or spread over lines: not understood
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str) or values.get("branch_labels") is not None:
            return None
        if values.get("depends_on") is not None:
            return None
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
            parents.update(down)
        elif down is not None:
            return None
        revisions.add(revision)
    if not revisions or not parents <= revisions:  # none, or one that names a missing parent
        return None
    return revisions - parents


def _alembic_heads(url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revisions recorded in the database (none for a fresh one), as Alembic reads them."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return set()
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return {str(r[0]) for r in rows}


def is_current(engine: Engine, url: str) -> bool:
    heads = shipped_heads()
    if heads is None:
        heads = _alembic_heads(url)
    return current_revisions(engine) == heads


def ensure_schema(engine: Engine, url: str) -> None:
    """Upgrade to the latest schema if the database is behind (a fresh file included)."""
    if not is_current(engine, url):
        upgrade(url)
