"""The user's own database: attempts, drafts and settings, with numbered migrations."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

migrations = Migrations("user")


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


KNOWN = {m.name for m in migrations._migrations}


def open_user_db(path: Path) -> Database:
    """Open (creating if needed) and migrate; refuse corrupt or newer databases without writing."""
    existed = path.exists()
    try:
        conn = sqlite3.connect(str(path))
        if existed:
            conn.execute("PRAGMA quick_check").fetchone()
        db = Database(conn)
        applied = {m.name for m in migrations.applied(db)} if existed else set()
    except sqlite3.DatabaseError as exc:
        raise UserDbError(f"{path} is not a readable database ({exc}); it was left untouched.") from exc
    newer = applied - KNOWN
    if newer:
        conn.close()
        raise UserDbError(f"{path} was written by a newer version of the app (migrations {sorted(newer)}); "
                          "it was left untouched. Update the app to open it.")
    conn.execute("PRAGMA journal_mode=WAL")
    migrations.apply(db)
    return db


def save_draft(db: Database, question_id: str, text: str) -> None:
    with db.atomic():
        if text:
            db["drafts"].upsert({"question_id": question_id, "text": text, "updated_at": time.time()}, pk="question_id")
        else:
            db["drafts"].delete_where("question_id = ?", [question_id])


def load_draft(db: Database, question_id: str) -> str:
    rows = list(db["drafts"].rows_where("question_id = ?", [question_id]))
    return rows[0]["text"] if rows else ""


def record_attempt(db: Database, attempt: dict[str, Any]) -> int:
    with db.atomic():
        table = db["attempts"].insert(attempt)
        return int(table.last_pk)


def update_attempt(db: Database, attempt_id: int, changes: dict[str, Any]) -> None:
    with db.atomic():
        db["attempts"].update(attempt_id, changes)


def attempts(db: Database, question_id: str | None = None) -> list[dict]:
    where, args = ("question_id = ?", [question_id]) if question_id else (None, None)
    return list(db["attempts"].rows_where(where, args, order_by="id"))


def get_setting(db: Database, key: str, default: Any = None) -> Any:
    rows = list(db["settings"].rows_where("key = ?", [key]))
    return json.loads(rows[0]["value"]) if rows else default


def set_setting(db: Database, key: str, value: Any) -> None:
    with db.atomic():
        db["settings"].upsert({"key": key, "value": json.dumps(value)}, pk="key")
