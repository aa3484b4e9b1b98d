"""``weaver db upgrade`` and ``weaver db current``, run as a user runs them: in a process of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from weaver.store import AsyncStore

ROOT = Path(__file__).resolve().parents[3]


def weaver_db(*args: str, home: Path, database_url: str | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``weaver db ARGS`` with ``WEAVER_HOME=home``, in ``home`` by default (so no ``.env`` of the repo is read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEAVER_")}
    env["WEAVER_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if database_url is not None:
        env["WEAVER_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "weaver.cli", "db", *args], cwd=cwd or home, env=env,
                          capture_output=True, text=True, timeout=60)


def test_upgrade_creates_the_sqlite_store_under_weaver_home(tmp_path: Path) -> None:
    before = weaver_db("current", home=tmp_path)
    upgraded = weaver_db("upgrade", home=tmp_path)
    after = weaver_db("current", home=tmp_path)

    head = AsyncStore.head_revision()
    assert before.returncode == 1, before.stderr
    assert "not initialized" in before.stdout and "weaver db upgrade" in before.stdout
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"revision {head} (head)" in upgraded.stdout and str(tmp_path / "weaver.db") in upgraded.stdout
    assert (tmp_path / "weaver.db").exists()
    assert after.returncode == 0 and f"{head} (head)" in after.stdout


@pytest.mark.postgres
def test_database_url_moves_the_store_to_postgresql_and_hides_the_password(tmp_path: Path, pg_url: str) -> None:
    with_password = pg_url.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it

    upgraded = weaver_db("upgrade", home=tmp_path, database_url=with_password)
    current = weaver_db("current", home=tmp_path, database_url=with_password)

    assert upgraded.returncode == 0, upgraded.stderr
    assert "postgresql+asyncpg://postgres:***@127.0.0.1" in upgraded.stdout
    assert "s3cret" not in upgraded.stdout + upgraded.stderr + current.stdout + current.stderr
    assert f"{AsyncStore.head_revision()} (head)" in current.stdout
    assert not (tmp_path / "weaver.db").exists()


@pytest.mark.parametrize("url", ["mysql://me@db/weaver", "not a url", "sqlite:///:memory:"])
def test_a_bad_database_url_is_one_line_naming_the_variable(tmp_path: Path, url: str) -> None:
    done = weaver_db("upgrade", home=tmp_path, database_url=url)

    assert done.returncode == 2
    assert "WEAVER_DATABASE_URL" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["postgresql+asyncpg://postgres:pw@127.0.0.1:1/weaver",
                                 pytest.param("postgresql+asyncpg://postgres:pw@127.0.0.1:5432/weaver_no_such_db",
                                              marks=pytest.mark.postgres)])
def test_an_unreachable_database_is_one_line_naming_the_variable(tmp_path: Path, url: str) -> None:
    done = weaver_db("current", home=tmp_path, database_url=url)

    assert done.returncode == 2
    assert "WEAVER_DATABASE_URL" in done.stderr and "Traceback" not in done.stderr and "pw@" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_unusable_weaver_home_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    done = weaver_db("upgrade", home=blocker / "home", cwd=tmp_path)

    assert done.returncode == 2
    assert "WEAVER_HOME" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
