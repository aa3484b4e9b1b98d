"""Weaver's settings: ``WEAVER_*`` environment variables or a ``.env`` file (DESIGN §7b).

Nothing is read at import. :func:`load_settings` reads the environment when it is called, so
a test that points ``WEAVER_HOME`` at a temporary directory gets a store of its own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Where Weaver keeps its files and its store.

    Parameters
    ----------
    home
        Weaver's own files: the SQLite store, the catalog, the token (``WEAVER_HOME``).
    database_url
        The store (``WEAVER_DATABASE_URL``): ``postgresql+asyncpg://user@host/db`` moves it to
        PostgreSQL. Unset, it is the SQLite file ``weaver.db`` under ``home``.
    """

    model_config = SettingsConfigDict(env_prefix="WEAVER_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("~/.weaver"))
    database_url: str | None = None

    @field_validator("home")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def store_url(self) -> str:
        """Return the store's URL: ``database_url``, or the SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'weaver.db'}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment and ``.env``; keywords override both."""
    return Settings(**overrides)  # type: ignore[arg-type]
