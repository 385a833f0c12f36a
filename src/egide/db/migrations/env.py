"""Alembic environment: runs migrations on the URL set by egide.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from egide.db.engine import make_engine

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, render_as_batch=connection.dialect.name == "sqlite"
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
