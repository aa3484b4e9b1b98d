"""Weaver's settings: ``WEAVER_*`` environment variables or a ``.env`` file (DESIGN §7b).

Nothing is read at import. :func:`load_settings` reads the environment when it is called, so
a test that points ``WEAVER_HOME`` at a temporary directory gets a store of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    token
        The API's token (``WEAVER_TOKEN``); unset, ``weaver serve`` generates one into
        ``home/token`` (mode 0600) on first start and reuses it.
    catalog
        The Parquet catalog of bars (``WEAVER_CATALOG``); ``home/catalog`` by default.
    url
        The server that notebooks talk to (``WEAVER_URL``).
    allowed_hosts, allowed_origins
        Host names and Origins the server accepts besides its loopback names and its own
        origin (``WEAVER_ALLOWED_HOSTS``, ``WEAVER_ALLOWED_ORIGINS``: comma-separated).
    strategy_import_timeout
        Seconds a posted strategy's source may take to import in its worker before it is
        refused (``WEAVER_STRATEGY_IMPORT_TIMEOUT``).

    Notes
    -----
    The event stream's knobs, for tests and tuning rather than users: ``WEAVER_SSE_HEARTBEAT``
    (seconds between heartbeat comments, 15), ``WEAVER_SSE_POLL_INTERVAL`` (seconds between the
    server's reads of a SQLite log, which nothing else wakes, 0.05; on PostgreSQL a NOTIFY
    wakes it, and it polls every second besides),
    ``WEAVER_SSE_QUEUE`` (events a client may fall behind before it is let go, 10,000) and
    ``WEAVER_SSE_SEND_TIMEOUT`` (seconds a send to a client may wait before its connection is
    cut, 30).
    """

    model_config = SettingsConfigDict(env_prefix="WEAVER_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("~/.weaver"))
    database_url: str | None = None
    token: SecretStr | None = None
    catalog: Path | None = None
    url: str = "http://127.0.0.1:8000"
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alpaca_paper_key_id: SecretStr | None = None
    alpaca_paper_secret_key: SecretStr | None = None
    alpaca_live_key_id: SecretStr | None = None
    alpaca_live_secret_key: SecretStr | None = None
    strategy_import_timeout: float = Field(default=10.0, gt=0)
    # the event stream (see Notes)
    sse_heartbeat: float = Field(default=15.0, gt=0)
    sse_poll_interval: float = Field(default=0.05, gt=0)
    sse_queue: int = Field(default=10_000, ge=1)
    sse_send_timeout: float = Field(default=30.0, gt=0)

    @field_validator("home", "catalog")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def catalog_path(self) -> Path:
        """Return the catalog's directory: ``catalog``, or ``catalog`` under ``home``."""
        return self.catalog if self.catalog is not None else self.home / "catalog"

    def secrets(self) -> list[str]:
        """Return the secret values set (token, Alpaca keys): what no log line or response may show."""
        values = (self.token, self.alpaca_paper_key_id, self.alpaca_paper_secret_key, self.alpaca_live_key_id,
                  self.alpaca_live_secret_key)
        return [value.get_secret_value() for value in values if value is not None and value.get_secret_value()]

    @property
    def store_url(self) -> str:
        """Return the store's URL: ``database_url``, or the SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'weaver.db'}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment and ``.env``; keywords override both."""
    return Settings(**overrides)  # type: ignore[arg-type]
