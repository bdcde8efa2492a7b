"""The dashboard's store states and its command: every page on a missing, empty, foreign, corrupt, older and
newer store shows one clear sentence (never a traceback), reading never writes, and `dawg-bench dashboard`
serves headless on 127.0.0.1 and refuses a busy port in one line.

The pages' figures are checked against a real run in tests/test_dashboard_<page>.py."""

import hashlib
import socket
import sqlite3
import sys
from contextlib import closing

import pytest

from dashboards.store_view import inspect_store
from harness.cli import main
from harness.store import STORE_VERSION, Store
from tests.dashboard_pages import PAGES, exceptions, open_page, page_text
from tests.store_fixtures import write_version1_store

pytestmark = pytest.mark.slow(seconds=20)


def _make(kind: str, path):
    if kind == "empty":
        Store(path).close()
    elif kind == "foreign":
        with closing(sqlite3.connect(path)) as c:
            c.execute("CREATE TABLE songs (title TEXT)")
    elif kind == "not-a-database":
        path.write_bytes(b"RIFF....WAVEfmt " * 64)
    elif kind == "older":
        write_version1_store(path)
    elif kind == "newer":
        Store(path).close()
        with closing(sqlite3.connect(path)) as c:
            c.execute(f"PRAGMA user_version = {STORE_VERSION + 1}")
    return path


STATES = {  # kind: what the page must say
    "missing": "no results store here yet",
    "empty": "no finished run yet",
    "foreign": "not a DAWG Bench results store",
    "not-a-database": "not a SQLite database",
    "older": "written by an older DAWG Bench",
    "newer": "written by a newer DAWG Bench",
}


@pytest.mark.parametrize("kind", STATES)
def test_every_page_explains_a_store_it_cannot_show(kind, tmp_path):
    path = tmp_path / "results.db"
    if kind != "missing":
        _make(kind, path)
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    for page in PAGES:
        at = open_page(path, page)
        assert exceptions(at) == [], (kind, page)
        text = page_text(at)
        assert STATES[kind] in text, (kind, page, text[:500])
        assert str(path) in text, (kind, page)
    if kind in ("missing", "empty"):
        assert "dawg-bench demo --db" in text  # how to fill it
    if kind == "older":
        assert f"dawg-bench dashboard --db {path} --upgrade" in text
    # reading never creates, migrates or rewrites the file
    assert (hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None) == before


def test_inspect_store_on_a_real_run(dashboard_store):
    state = inspect_store(dashboard_store)
    assert state.kind == "ok" and state.runs == 1 and state.version == STORE_VERSION


def test_upgrade_migrates_an_older_store_then_serves_it(tmp_path, monkeypatch, capsys):
    path = write_version1_store(tmp_path / "old.db")
    assert inspect_store(path).kind == "older"
    calls = []
    monkeypatch.setattr("os.execve", lambda exe, argv, env: calls.append((exe, argv, env)))
    port = _free_port()
    assert main(["dashboard", "--db", str(path), "--upgrade", "--port", str(port)]) == 0
    assert inspect_store(path).kind == "ok"  # migrated, its run kept
    (exe, argv, env), = calls
    assert exe == sys.executable and argv[1:4] == ["-m", "streamlit", "run"]
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == str(port)
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert env["DAWG_BENCH_DASHBOARD_DB"] == str(path.resolve())
    assert f"http://127.0.0.1:{port}" in capsys.readouterr().out


def test_upgrade_never_creates_a_store(tmp_path, monkeypatch):
    monkeypatch.setattr("os.execve", lambda exe, argv, env: None)
    assert main(["dashboard", "--db", str(tmp_path / "none.db"), "--upgrade", "--port", str(_free_port())]) == 0
    assert not (tmp_path / "none.db").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_busy_port_is_one_line(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["dashboard", "--db", str(tmp_path / "r.db"), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}: the port is in use" in err and "Traceback" not in err and err.count("\n") == 1


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["dashboard", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "--upgrade" in out and "127.0.0.1" in out
