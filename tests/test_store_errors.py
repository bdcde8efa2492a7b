"""Trust: store and filesystem errors are one line and exit 2, and an unrelated file is never written."""

import errno
import sqlite3

import pytest

from harness.atomic import write_json_atomic
from harness.cli import main
from harness.errors import UserError
from harness.store import APPLICATION_ID, STORE_VERSION, Store, StoreError
from tests.store_fixtures import write_version1_store


def _one_line_exit_2(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_db_naming_a_directory_or_under_a_file(tmp_path, capsys):
    err = _one_line_exit_2(capsys, ["gate", "smoke", "--db", str(tmp_path)])
    assert "is a directory" in err
    (tmp_path / "afile").write_text("x")
    err = _one_line_exit_2(capsys, ["gate", "smoke", "--db", str(tmp_path / "afile" / "r.db")])
    assert "is a file, not a folder" in err


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path, capsys):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    before = path.read_bytes()
    err = _one_line_exit_2(capsys, ["gate", "smoke", "--db", str(path)])
    assert "not a SQLite database" in err and path.read_bytes() == before


def test_an_unrelated_sqlite_database_gets_no_tables(tmp_path, capsys):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    before = path.read_bytes()
    err = _one_line_exit_2(capsys, ["gate", "smoke", "--db", str(path)])
    assert "not a DAWG Bench results store" in err and "customers" in err
    assert path.read_bytes() == before
    with sqlite3.connect(path) as c:
        assert {r[0] for r in c.execute("SELECT name FROM sqlite_master")} == {"customers"}


def test_a_new_store_is_marked_and_versioned(tmp_path):
    Store(tmp_path / "r.db").close()
    with sqlite3.connect(tmp_path / "r.db") as c:
        assert c.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert c.execute("PRAGMA user_version").fetchone()[0] == STORE_VERSION


def test_an_older_store_is_migrated_and_keeps_its_rows(tmp_path):
    path = write_version1_store(tmp_path / "old.db")
    store = Store(path)
    assert [r["run_id"] for r in store.runs()] == ["r0"]
    store.add_latencies([{"model": "m", "task": "eq", "precision": "fp32", "hardware": "cpu", "source": "measured",
                          "scope": "controller", "threads": 1, "p50_ms": 1.0, "valid": True, "clip_seconds": 10.0}])
    assert store.latencies()[0]["clip_seconds"] == 10.0
    store.close()
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == STORE_VERSION


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    Store(tmp_path / "r.db").close()
    with sqlite3.connect(tmp_path / "r.db") as c:
        c.execute(f"PRAGMA user_version = {STORE_VERSION + 1}")
    with pytest.raises(StoreError, match="newer DAWG Bench"):
        Store(tmp_path / "r.db")


def test_a_locked_database_waits_visibly_then_fails_clearly(tmp_path, capsys):
    path = tmp_path / "r.db"
    Store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-write
    try:
        store = Store(path, lock_wait_s=0.5)
        with pytest.raises(StoreError, match="locked by another process"):
            store.add_gates("smoke", "x", [{"gate": "g", "passed": True}], None)
        store.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "waiting for" in capsys.readouterr().err


def test_a_read_only_database_is_one_line(tmp_path, monkeypatch):
    """Root ignores file modes, so the read-only database is opened read-only by SQLite itself."""
    path = tmp_path / "r.db"
    Store(path).close()
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda p, **kw: real_connect(f"file:{p}?mode=ro", uri=True, **kw))
    store = Store(path)
    with pytest.raises(StoreError, match="read-only"):
        store.add_gates("smoke", "x", [{"gate": "g", "passed": True}], None)
    store.close()


def test_a_full_disk_names_the_path_and_leaves_no_partial_file(tmp_path, monkeypatch):
    dest = tmp_path / "out" / "report.json"

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("harness.atomic.os.replace", full)
    with pytest.raises(UserError, match=r"report\.json: cannot write: No space left on device"):
        write_json_atomic(dest, {"a": 1})
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("argv", [["run", "smoke", "--json", "{dir}"], ["demo", "--json", "{dir}"],
                                  ["gate", "smoke", "--junit", "{dir}"], ["gate", "smoke", "--markdown", "{file}/x.md"]])
def test_an_output_path_that_cannot_be_written_fails_before_any_work(tmp_path, capsys, argv):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    argv = [a.format(dir=tmp_path / "dir", file=tmp_path / "file") for a in argv]
    err = _one_line_exit_2(capsys, argv + ["--db", str(tmp_path / "r.db")])
    assert "is a directory" in err or "is a file, not a folder" in err
    assert not (tmp_path / "r.db").exists()  # nothing ran


def test_write_json_atomic_into_a_directory_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="is a directory"):
        write_json_atomic(tmp_path, {"a": 1})
