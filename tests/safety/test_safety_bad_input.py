"""Bad input people give Tiller: a home it cannot write, an unwritable index, an oversized message.

Each is one line naming the path (or the limit) and the fix — CLI exit 2, HTTP 503 or 413 — never
a traceback, and never a hint at the wrong setting. The file-system cases run the real CLI in a
child process without the capabilities that let root ignore permissions.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.config import Limits, Settings
from agent.errors import StorageUnwritable
from agent.interfaces.cli.app import app as cli
from agent.interfaces.service.errors import from_runtime_error
from agent.loop.state import RunStatus
from agent.runtime import Tiller

ROOT = Path(__file__).resolve().parents[2]
_NO_OVERRIDE = ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def _unprivileged() -> list[str]:
    """A prefix that makes the child obey file permissions (root ignores them otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced on the child")
    return [setpriv, *_NO_OVERRIDE]


def tiller(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TILLER_")}
    environment |= {"PYTHONPATH": str(ROOT), "TILLER_HOME": str(home), "TILLER_RETRIEVAL_MODE": "bm25", **env}
    command = [*_unprivileged(), sys.executable, "-c", "from agent.interfaces.cli import main; main()", *args]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=100, cwd=ROOT)


def _one_line_error(done: subprocess.CompletedProcess[str], *mentions: str) -> str:
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert "Traceback" not in output and len(output.splitlines()) == 1, output
    for text in mentions:
        assert text in output, output
    return output


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody may enter (its home does not exist and cannot be created)."""
    path = tmp_path / "locked"
    path.mkdir()
    path.chmod(0)
    yield path
    path.chmod(stat.S_IRWXU)


def _read_only(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(item.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable_again(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(item.stat().st_mode | stat.S_IWUSR)


@pytest.mark.parametrize("command", [["ask", "hello"], ["db", "init"], ["index"], ["serve", "--port", "1"]])
def test_a_home_without_permissions_is_one_line_naming_it(locked: Path, command: list[str]) -> None:
    home = locked / "home"
    output = _one_line_error(tiller(home, *command), str(home), "cannot be created")
    assert "TILLER_HOME" in output


def test_a_read_only_home_names_the_home_not_the_database_url(seeded_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(seeded_home, home)
    _read_only(home)
    try:
        output = _one_line_error(tiller(home, "ask", "hello"), str(home), "not writable", "TILLER_HOME")
        assert "check TILLER_DATABASE_URL" not in output
        assert "TILLER_DATABASE_URL is not set" in output
    finally:
        _writable_again(home)


def test_an_unwritable_index_directory_is_named(seeded_home: Path, tmp_path: Path) -> None:
    home, kb = tmp_path / "home", tmp_path / "kb"
    shutil.copytree(seeded_home, home)
    shutil.copytree(ROOT / "tools" / "commerce" / "kb", kb)
    (kb / "zz-new.md").write_text("# A new page\n\nThe index must be rebuilt for it.\n")
    index = home / "index" / "commerce"
    _read_only(index)
    try:
        for command in (["index"], ["ask", "what is the return policy?"]):
            _one_line_error(tiller(home, *command, TILLER_KB_DIR=str(kb)), str(index), "cannot be written")
    finally:
        _writable_again(index)


def test_the_service_answers_503_for_storage_it_cannot_write() -> None:
    error = from_runtime_error(StorageUnwritable("the Tiller home /srv/tiller is not writable (Permission denied)."))
    assert error.status == 503 and error.code == "database_unavailable"


def test_the_cli_refuses_a_message_over_the_apis_limit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLER_HOME", str(settings.home))
    done = CliRunner().invoke(cli, ["ask", "x" * 120_000])
    assert done.exit_code == 2
    assert "120000 characters; at most 8000" in done.output and "TILLER_MAX_MESSAGE_CHARS" in done.output


def test_the_token_limit_holds_whatever_the_message_size(settings: Settings) -> None:
    big = settings.model_copy(update={"max_message_chars": 1_000_000})
    with Tiller(big, limits=Limits(max_tokens=60_000)) as runtime:
        result = runtime.ask("where is my order W1000002? " + "please " * 40_000)  # ≈ 280k characters
    assert result.status is RunStatus.LIMIT_REACHED and result.stop_reason == "max_tokens"
    assert result.usage.total_tokens + result.usage.estimated_tokens <= 60_000
    assert result.trajectory == []  # nothing ran: the message was never sent
