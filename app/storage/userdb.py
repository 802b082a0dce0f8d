"""The user's own database: attempts, drafts and settings, with numbered migrations."""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

migrations = Migrations("user")
BUSY_TIMEOUT_MS = 2000  # another connection's write lock: wait this long before a write fails (and says so)


class UserDbError(Exception):
    """The user database cannot be opened; it is left untouched."""


@migrations(name="0001_attempts_drafts_settings")
def _m0001(db: Database) -> None:
    db["attempts"].create({
        "id": int, "question_id": str, "answer": str, "choice": str, "verdict": str, "score": int,
        "grade_json": str, "model": str, "mode": str, "started_at": float, "submitted_at": float,
        "answer_seconds": float, "grade_seconds": float,
    }, pk="id")
    db["attempts"].create_index(["question_id"])
    db["drafts"].create({"question_id": str, "text": str, "updated_at": float}, pk="question_id")
    db["settings"].create({"key": str, "value": str}, pk="key")


def known_migrations() -> set[str]:
    """Every migration this version defines; computed on call so migrations declared further down count."""
    return {m.name for m in migrations._migrations}


def writable(path: Path) -> bool:
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def open_user_db(path: Path, read_only: bool | None = None) -> Database:
    """Open (creating if needed) and migrate; refuse corrupt or newer databases without writing. Where the file or its
    folder cannot be written (or read_only says so) it opens read-only: `db.read_only` is then True and every write
    fails with an error the app reports."""
    read_only = not writable(path) if read_only is None else read_only
    existed = path.exists()
    if read_only and not existed:
        raise UserDbError(f"{path.parent} cannot be written and holds no user.db yet; choose a writable folder "
                          "with COACH_DATA_DIR.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True) if read_only else sqlite3.connect(str(path))
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if existed:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                conn.close()
                raise UserDbError(f"{path} is damaged (SQLite's check found: {'; '.join(problems[:3])}); it was left "
                                  "untouched. Move it aside to start afresh, or restore a copy of it.")
        db = Database(conn)
        applied = {m.name for m in migrations.applied(db)} if existed else set()
    except sqlite3.DatabaseError as exc:
        raise UserDbError(f"{path} is not a readable database ({exc}); it was left untouched.") from exc
    newer = applied - known_migrations()
    if newer:
        conn.close()
        raise UserDbError(f"{path} was written by a newer version of the app (migrations {sorted(newer)}); "
                          "it was left untouched. Update the app to open it.")
    db.read_only = read_only
    if read_only:
        if known_migrations() - applied:
            conn.close()
            raise UserDbError(f"{path} cannot be written and needs updating for this version of the app; it was "
                              "left untouched.")
        return db
    conn.execute("PRAGMA journal_mode=WAL")
    migrations.apply(db)
    return db


def save_draft(db: Database, question_id: str, text: str, option_order: str = "") -> None:
    """Keep (or, when empty, drop) a draft, with the option order it was written against."""
    with db.atomic():
        if text:
            db["drafts"].upsert({"question_id": question_id, "text": text, "updated_at": time.time(),
                                 "option_order": option_order}, pk="question_id")
        else:
            db["drafts"].delete_where("question_id = ?", [question_id])


def load_draft(db: Database, question_id: str) -> str:
    rows = list(db["drafts"].rows_where("question_id = ?", [question_id]))
    return rows[0]["text"] if rows else ""


def draft_order(db: Database, question_id: str) -> str:
    """The option order a saved draft was written against ("" when there is no draft)."""
    rows = list(db["drafts"].rows_where("question_id = ?", [question_id]))
    return (rows[0].get("option_order") or "") if rows else ""


def submitted_attempt(question_id: str, answer: str, mode: str, submitted_at: float, answer_seconds: float,
                      verdict: str = "pending", model: str = "", option_order: str = "") -> dict[str, Any]:
    """The row an answer becomes the moment it is submitted, before any grade (practice and interviews alike);
    option_order is the order its options were shown in (JSON list of ids)."""
    return {"question_id": question_id, "answer": answer, "choice": "", "verdict": verdict, "score": 0,
            "grade_json": "", "model": model, "mode": mode, "started_at": submitted_at - answer_seconds,
            "submitted_at": submitted_at, "answer_seconds": answer_seconds, "grade_seconds": 0.0,
            "option_order": option_order}


def record_attempt(db: Database, attempt: dict[str, Any]) -> int:
    with db.atomic():
        table = db["attempts"].insert(attempt)
        return int(table.last_pk)


def update_attempt(db: Database, attempt_id: int, changes: dict[str, Any]) -> None:
    with db.atomic():
        db["attempts"].update(attempt_id, changes)


def grade_columns(grade: dict[str, Any]) -> dict[str, Any]:
    """The attempt columns a grade (Grade.to_dict()) fills in."""
    return {"choice": grade["choice"], "verdict": grade["verdict"], "score": grade["score"],
            "grade_json": json.dumps(grade), "model": grade.get("grader", ""),
            "grade_seconds": grade.get("timings", {}).get("total_s", 0.0)}


def attempts(db: Database, question_id: str | None = None) -> list[dict]:
    where, args = ("question_id = ?", [question_id]) if question_id else (None, None)
    return list(db["attempts"].rows_where(where, args, order_by="id"))


def get_setting(db: Database, key: str, default: Any = None) -> Any:
    rows = list(db["settings"].rows_where("key = ?", [key]))
    return json.loads(rows[0]["value"]) if rows else default


def set_setting(db: Database, key: str, value: Any) -> None:
    with db.atomic():
        db["settings"].upsert({"key": key, "value": json.dumps(value)}, pk="key")


@migrations(name="0002_interviews")
def _m0002(db: Database) -> None:
    """Mock interviews: settings and live state per interview, and each answer as it is submitted."""
    db["interviews"].create({
        "id": int, "started_at": float, "updated_at": float, "finished_at": float, "status": str,
        "settings_json": str, "state_json": str, "score": int, "question_count": int, "report_md": str,
    }, pk="id")
    db["interviews"].create_index(["status"])
    db["interview_answers"].create({
        "interview_id": int, "position": int, "question_id": str, "answer": str, "outcome": str,
        "seconds": float, "submitted_at": float, "attempt_id": int,
    }, pk=("interview_id", "position"))


@migrations(name="0003_reviews_overrides")
def _m0003(db: Database) -> None:
    """The user's verdict override beside the grader's, FSRS cards and their review log."""
    db["attempts"].add_column("override_verdict", str)
    db["attempts"].add_column("overridden_at", float)
    db["cards"].create({"key": str, "kind": str, "question_id": str, "point_id": str, "card_json": str,
                        "due": float, "created_at": float}, pk="key")
    db["cards"].create_index(["due"])
    db["reviews"].create({"id": int, "attempt_id": int, "card_key": str, "question_id": str, "rating": int,
                          "proposed": int, "scheduled": int, "reviewed_at": float, "due_before": float}, pk="id")
    db["reviews"].create_index(["card_key"])
    db["reviews"].create_index(["attempt_id"])


@migrations(name="0004_option_order")
def _m0004(db: Database) -> None:
    """The order options were shown in, with each draft and attempt (older rows: the bank's order)."""
    db["attempts"].add_column("option_order", str)
    db["drafts"].add_column("option_order", str)


@migrations(name="0005_learner_calls")
def _m0005(db: Database) -> None:
    """Where the grader was unsure, the learner's own call (JSON: point id -> made/missed, "choice" -> option id)."""
    db["attempts"].add_column("learner_calls", str)
    db["attempts"].add_column("called_at", float)
