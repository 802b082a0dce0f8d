"""The user's database: migrations, drafts, attempts, settings, and refusing files it must not touch."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import paths
from app.content.compile import compile_bank
from app.storage.bank import open_bank
from app.storage.userdb import (UserDbError, attempts, get_setting, load_draft, open_user_db, record_attempt,
                                save_draft, set_setting, update_attempt)

REPO_ROOT = Path(__file__).resolve().parent.parent


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_state(folder: Path, prefix: str) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(folder.glob(prefix + "*"))}


def test_migrations_create_tables(db) -> None:
    assert {"attempts", "drafts", "settings", "_sqlite_migrations"} <= set(db.table_names())
    assert {"question_id", "answer", "verdict", "grade_json", "model", "score"} <= set(db["attempts"].columns_dict)
    names = [r["name"] for r in db["_sqlite_migrations"].rows]
    assert names[0] == "0001_attempts_drafts_settings" and len(names) == len(set(names))


def test_reopening_applies_nothing_twice(db) -> None:
    applied = db["_sqlite_migrations"].count
    db.conn.close()
    again = open_user_db(paths.user_db_path())
    assert again["_sqlite_migrations"].count == applied >= 1


def test_drafts_save_load_delete(db) -> None:
    assert load_draft(db, "rag-001") == ""
    save_draft(db, "rag-001", "first try")
    save_draft(db, "rag-001", "second try")
    save_draft(db, "rag-002", "other")
    assert load_draft(db, "rag-001") == "second try"
    assert db["drafts"].count == 2
    save_draft(db, "rag-001", "")
    assert load_draft(db, "rag-001") == "" and load_draft(db, "rag-002") == "other"
    assert db["drafts"].count == 1


def test_attempts_record_and_update(db) -> None:
    first = record_attempt(db, {"question_id": "rag-001", "answer": "RAG", "verdict": "pending", "score": 0})
    second = record_attempt(db, {"question_id": "rag-002", "answer": "tune", "verdict": "pending", "score": 0})
    assert first != second
    update_attempt(db, first, {"verdict": "correct", "score": 88, "grade_json": "{}", "model": "m"})
    rows = attempts(db, "rag-001")
    assert len(rows) == 1
    assert (rows[0]["verdict"], rows[0]["score"], rows[0]["model"]) == ("correct", 88, "m")
    assert [r["id"] for r in attempts(db)] == [first, second]
    assert attempts(db, "rag-002")[0]["verdict"] == "pending"


def test_settings_round_trip(db) -> None:
    assert get_setting(db, "model_path", "default") == "default"
    for value in ("/models/x.gguf", 3, 0.5, True, None, ["a", 1], {"k": [1, 2]}):
        set_setting(db, "key", value)
        assert get_setting(db, "key", "missing") == value


def test_settings_survive_reopen(db) -> None:
    set_setting(db, "model_path", "/somewhere/model.gguf")
    db.conn.close()
    assert get_setting(open_user_db(paths.user_db_path()), "model_path") == "/somewhere/model.gguf"


def test_corrupt_file_is_refused_and_left_untouched(data_dir: Path) -> None:
    path = paths.user_db_path()
    path.write_bytes(os.urandom(8192))
    before = digest(path)
    with pytest.raises(UserDbError) as caught:
        open_user_db(path)
    assert str(path) in str(caught.value) and "untouched" in str(caught.value)
    assert digest(path) == before


def test_newer_database_is_refused_and_left_untouched(db, data_dir: Path) -> None:
    db["_sqlite_migrations"].insert({"migration_set": "user", "name": "9999_from_the_future",
                                     "applied_at": "2030-01-01"})
    record_attempt(db, {"question_id": "rag-001", "answer": "kept", "verdict": "correct", "score": 90})
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    before = files_state(data_dir, "user.db")
    with pytest.raises(UserDbError) as caught:
        open_user_db(paths.user_db_path())
    assert "9999_from_the_future" in str(caught.value) and "newer version" in str(caught.value)
    assert files_state(data_dir, "user.db")["user.db"] == before["user.db"]
    check = sqlite3.connect(paths.user_db_path())
    assert check.execute("SELECT answer FROM attempts").fetchall() == [("kept",)]


def test_rebuilding_the_bank_never_touches_user_db(db, data_dir: Path, content_dir: Path) -> None:
    save_draft(db, "rag-001", "my draft")
    record_attempt(db, {"question_id": "rag-001", "answer": "RAG", "verdict": "partial", "score": 50})
    set_setting(db, "model_path", "x.gguf")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = files_state(data_dir, "user.db")
    compile_bank(open_bank(paths.bank_db_path()), content_dir, force=True)
    result = subprocess.run([sys.executable, "-m", "app", "content", "compile"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert re.search(r"compiled (3[2-9]|[4-9]\d) notes and (22[4-9]|2[3-9]\d|[3-9]\d\d) questions", result.stdout)
    assert paths.bank_db_path().exists()
    assert files_state(data_dir, "user.db") == before
    assert load_draft(db, "rag-001") == "my draft" and len(attempts(db)) == 1


def test_migrations_are_declared_in_order() -> None:
    from app.storage.userdb import migrations
    names = [m.name for m in migrations._migrations]
    assert names == sorted(names) and names[0].startswith("0001")
