"""Settings from the environment (prefix ``EGIDE_``), in one pydantic-settings class."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """SQLite file in the user's data folder: ``$XDG_DATA_HOME/egide/egide.db`` (by default
    ``~/.local/share/egide/egide.db``)."""
    import os

    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'egide' / 'egide.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGIDE_", extra="ignore")

    database_url: str = ""
    now: str | None = None  # ISO 8601 with offset; overrides the clock (tests, replays)
    product_file: str | None = None  # a product TOML; None: the packaged default
    environment: str = "development"

    @field_validator("database_url")
    @classmethod
    def _default_url(cls, value: str) -> str:
        return value or default_database_url()


def get_settings() -> Settings:
    return Settings()
