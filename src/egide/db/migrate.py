"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed.

Every command that opens the database first checks that its schema is current. That check reads
the shipped revision files and the ``alembic_version`` table without loading Alembic (about a
tenth of a second of imports); Alembic is loaded when an upgrade is needed, or when a revision file
uses something the plain reader does not follow (branch labels, dependencies, computed values).
"""

from __future__ import annotations

import ast
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


def shipped_heads() -> set[str] | None:
    """The head revisions of the shipped migrations, read from the files' ``revision`` and
    ``down_revision`` literals; None when a file is beyond this reader (Alembic must say)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        if path.name.startswith(("__init__", ".#")):  # the files Alembic skips
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            return None  # Alembic reports it as it always did
        values: dict[str, object] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    values[target.id] = ...  # computed: not understood
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
