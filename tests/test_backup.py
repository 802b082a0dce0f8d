"""export-data / import-data: a round trip loses nothing; a bad file is refused by name and changes nothing."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from history_data import DAY, add_attempt
from sqlite_utils import Database

from app import paths
from app.storage import history
from app.storage.backup import ImportRefused, export_data, import_data
from app.storage.userdb import migrations, open_user_db, record_attempt, save_draft, set_setting

REPO_ROOT = Path(__file__).resolve().parent.parent
T0 = 1_780_000_000.0


def run_app(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COACH_DATA_DIR=str(data))
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=False)


def snapshot(db) -> dict:
    data = export_data(db)
    data.pop("exported_at")
    return data


@pytest.fixture
def db(questions):
    db = open_user_db(paths.user_db_path())
    first = add_attempt(db, questions["rag-001"], "correct", T0, answer_seconds=61.25)
    add_attempt(db, questions["rag-001"], "incorrect", T0 + DAY, mode="interview")
    add_attempt(db, questions["peft-002"], "partial", T0 + 2 * DAY)
    history.set_override(db, first, "partial", now=T0 + 3 * DAY)
    history.set_desired_retention(db, 0.87)
    save_draft(db, "agents-001", "half an answer, with ünïcode and a\nnewline")
    set_setting(db, "current_question", "agents-001")
    return db


def test_round_trip_loses_nothing(db, tmp_path: Path) -> None:
    exported = tmp_path / "mine.json"
    result = run_app("export-data", str(exported), data=paths.data_dir())
    assert result.returncode == 0, result.stderr
    assert "3 attempts" in result.stdout
    other = tmp_path / "other-machine"
    other.mkdir()
    result = run_app("import-data", str(exported), data=other)
    assert result.returncode == 0, result.stderr
    restored = open_user_db(other / "user.db")
    original = snapshot(db)
    assert snapshot(restored) == original
    assert all(original["tables"][t]["rows"] for t in ("attempts", "cards", "reviews", "drafts", "settings"))
    again = tmp_path / "again.json"
    assert run_app("export-data", str(again), data=other).returncode == 0
    first, second = json.loads(exported.read_text()), json.loads(again.read_text())
    first.pop("exported_at"), second.pop("exported_at")
    assert first == second
    assert history.get_attempt(restored, 1)["override_verdict"] == "partial"
    assert history.desired_retention(restored) == 0.87


def test_import_replaces_data_and_keeps_a_copy_of_the_old(db, tmp_path: Path) -> None:
    exported = tmp_path / "mine.json"
    exported.write_text(json.dumps(export_data(db)), encoding="utf-8")
    other = open_user_db(tmp_path / "other.db")
    save_draft(other, "rag-001", "only here")
    counts, saved = import_data(other, exported, tmp_path / "other.db")
    assert counts["attempts"] == 3 and snapshot(other)["tables"] == snapshot(db)["tables"]
    assert open_user_db(saved)["drafts"].get("rag-001")["text"] == "only here"


def bad_files(db, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = export_data(db)

    def write(name: str, data) -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path

    unknown_table = json.loads(json.dumps(good))
    unknown_table["tables"]["scores"] = {"rows": []}
    unknown_column = json.loads(json.dumps(good))
    unknown_column["tables"]["attempts"]["rows"][1]["mood"] = "happy"
    newer = dict(good, migrations=good["migrations"] + ["9999_from_the_future"])
    duplicate = json.loads(json.dumps(good))
    duplicate["tables"]["attempts"]["rows"].append(duplicate["tables"]["attempts"]["rows"][0])
    return {"truncated": (write("truncated.json", json.dumps(good)[:500]), "not valid JSON"),
            "other format": (write("other.json", {"notes": []}), "field 'format'"),
            "unknown table": (write("table.json", unknown_table), "tables.scores is not a table"),
            "unknown column": (write("column.json", unknown_column), "tables.attempts.rows[1] has unknown column(s) ['mood']"),
            "newer": (write("newer.json", newer), "9999_from_the_future"),
            "duplicate id": (write("duplicate.json", duplicate), "tables.attempts.rows[3] cannot be stored"),
            "missing": (tmp_path / "nowhere.json", "cannot read")}


def test_bad_files_are_refused_and_change_nothing(db, tmp_path: Path) -> None:
    before = snapshot(db)
    for name, (path, reason) in bad_files(db, tmp_path).items():
        with pytest.raises(ImportRefused) as caught:
            import_data(db, path, paths.user_db_path())
        assert str(path) in str(caught.value) and reason in str(caught.value), name
        assert snapshot(db) == before, name
    assert list(paths.data_dir().glob("*before-import*")) == []


def test_cli_refuses_bad_file_with_its_name(db, tmp_path: Path) -> None:
    path, reason = bad_files(db, tmp_path)["unknown column"]
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    digest = hashlib.sha256(paths.user_db_path().read_bytes()).hexdigest()
    result = run_app("import-data", str(path), data=paths.data_dir())
    assert result.returncode == 1
    assert reason in result.stderr and "Nothing was changed" in result.stderr
    assert hashlib.sha256(paths.user_db_path().read_bytes()).hexdigest() == digest


def test_export_refuses_a_corrupt_database(tmp_path: Path) -> None:
    paths.user_db_path().write_bytes(os.urandom(4096))
    result = run_app("export-data", str(tmp_path / "out.json"), data=paths.data_dir())
    assert result.returncode == 1 and "left untouched" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_an_old_database_migrates_forward_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="0003_reviews_overrides")
    record_attempt(old, {"question_id": "rag-001", "answer": "from before", "verdict": "correct", "score": 80,
                         "grade_json": "", "submitted_at": T0})
    old.conn.close()
    db = open_user_db(path)
    row = history.get_attempt(db, 1)
    assert (row["answer"], row["verdict"], row["override_verdict"]) == ("from before", "correct", None)
    assert "0003_reviews_overrides" in [r["name"] for r in db["_sqlite_migrations"].rows]
    history.set_override(db, 1, "partial")
    assert history.get_attempt(db, 1)["override_verdict"] == "partial"


MUTATIONS = [  # (table, column, value, what the refusal says)
    ("attempts", "score", "eighty", "must be int"),
    ("attempts", "verdict", None, "not null"),
    ("attempts", "verdict", "great", "is not one of"),
    ("attempts", "mode", "exam", "is not one of"),
    ("attempts", "answer", 42, "must be str"),
    ("attempts", "submitted_at", "yesterday", "must be float"),
    ("attempts", "score", True, "must be int"),
    ("attempts", "grade_json", "{not json", "is not valid JSON"),
    ("attempts", "grade_json", "[1, 2]", "must be a JSON object"),
    ("attempts", "grade_json", '{"verdict": "correct"}', "is not a grade"),
    ("attempts", "id", None, "key column"),
    ("settings", "value", "not json at all", "is not valid JSON"),
    ("cards", "card_json", '"a string"', "must be a JSON object"),
    ("reviews", "attempt_id", 999, "is not the id of any row in tables.attempts"),
    ("reviews", "rating", "Good", "must be int"),
    ("drafts", "text", ["a", "list"], "must be str"),
]


@pytest.mark.parametrize("table, column, value, reason", MUTATIONS)
def test_a_wrong_value_anywhere_is_refused_by_name_and_changes_nothing(db, tmp_path: Path, table, column, value,
                                                                     reason) -> None:
    import random
    data = export_data(db)
    rows = data["tables"][table]["rows"]
    number = random.Random(column).randrange(len(rows))
    rows[number][column] = value
    path = tmp_path / "mutated.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = snapshot(db)
    with pytest.raises(ImportRefused) as caught:
        import_data(db, path, paths.user_db_path())
    assert f"tables.{table}.rows[{number}].{column}" in str(caught.value) and reason in str(caught.value)
    assert snapshot(db) == before


def test_an_empty_or_partial_file_is_refused_unless_replace_all(db, tmp_path: Path) -> None:
    empty = dict(export_data(db), tables={})
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(empty), encoding="utf-8")
    before = snapshot(db)
    result = run_app("import-data", str(path), data=paths.data_dir())
    assert result.returncode == 1 and "--replace-all" in result.stderr and "Nothing was changed" in result.stderr
    assert snapshot(db) == before
    partial = export_data(db)
    del partial["tables"]["drafts"]
    path.write_text(json.dumps(partial), encoding="utf-8")
    with pytest.raises(ImportRefused, match="has no table drafts"):
        import_data(db, path, paths.user_db_path())
    counts, _ = import_data(db, path, paths.user_db_path(), replace_all=True)
    assert counts["attempts"] == 3 and list(db["drafts"].rows) == []


def test_random_valid_data_survives_a_round_trip(questions, tmp_path: Path) -> None:
    import random
    rng = random.Random(7)
    db = open_user_db(tmp_path / "random.db")
    ids = sorted(questions)
    known = [("rag-001", "correct"), ("rag-001", "incorrect"), ("peft-002", "partial")]  # answers history_data writes
    for n in range(40):
        qid, verdict = rng.choice(known)
        add_attempt(db, questions[qid], verdict, T0 + n * DAY * rng.random(), answer_seconds=rng.uniform(5, 600),
                    mode=rng.choice(["practice", "interview"]))
        if rng.random() < 0.3:
            save_draft(db, rng.choice(ids), "".join(rng.choice("abc ünï\n€𝄞") for _ in range(rng.randrange(1, 80))))
    path = tmp_path / "random.json"
    path.write_text(json.dumps(export_data(db), ensure_ascii=False), encoding="utf-8")
    other = open_user_db(tmp_path / "other.db")
    import_data(other, path)
    assert snapshot(other)["tables"] == snapshot(db)["tables"]
