"""Shared fixtures: a fresh database per test, settings built from layers, a fixed clock."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from handoff_plugin.config.settings import Settings, StaticSettings, build_settings
from handoff_plugin.store import Store, open_store

# One action server, model and Rasa server per session, for tests/integration and tests/security.
pytest_plugins = ["tests.integration.rasa_servers"]

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "models" / "handoff.tar.gz"


class FakeClock:
    """An injectable clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 2, 9, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# A Fernet key for test databases only (made with Fernet.generate_key()).
TEST_SECRET_KEY = "kR6lJ5mKQ2yqVd0Lrj3m3nJ9gQnH3yQ2n6jJmC4lZ2Y="


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/handoff.db"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster per test session (Debian's binaries, loopback)."""
    from tests.postgres import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """A fresh PostgreSQL database for this test."""
    return str(postgres_server.new_database())


@pytest.fixture
async def store(database_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    # A server database needs `security.secret_key` to keep secrets; SQLite makes its own.
    key = "" if database_url.startswith("sqlite") else TEST_SECRET_KEY
    store = await open_store(database_url, clock=clock, secret_key=key)
    yield store
    await store.close()


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    def make(**sections: Any) -> Settings:
        return build_settings({"database": {"url": database_url}}, sections)

    return make


@pytest.fixture
def settings_provider(make_settings: Callable[..., Settings]) -> StaticSettings:
    return StaticSettings(make_settings())


@pytest.fixture(scope="session")
def trained_model() -> Path:
    if not MODEL_PATH.is_file():
        pytest.fail(f"no trained model at {MODEL_PATH}: run `make model` (make test does it)")
    return MODEL_PATH


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    """An aiosqlite connection left open is a non-daemon thread: the interpreter would wait for
    it forever after the last test. Say so loudly, and exit with the session's status."""
    leaked = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread()
        and not t.daemon
        and "aiosqlite" in getattr(getattr(t, "_target", None), "__module__", "")
    ]
    if leaked and _exit_status:
        print(
            f"\nWARNING: {len(leaked)} aiosqlite connection(s) were left open by the tests; "
            "exiting without waiting for them.",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        os._exit(_exit_status[-1])
