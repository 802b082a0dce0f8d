"""The compiled question bank and notes: written from content/, read by the app."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from app.core.model import Note, Question, Section
from app.core.open_items import DesignRound, Followup

BANK_TABLES = ("notes", "sections", "questions", "followups", "design_rounds")


def open_bank(path: Path) -> Database:
    """The compiled bank; one that is not a database or fails SQLite's check is moved aside and started afresh
    (it is rebuilt from content/, so nothing of the user's is in it)."""
    try:
        return _open(path)
    except sqlite3.DatabaseError:
        for suffix in ("", "-wal", "-shm"):
            damaged = path.with_name(path.name + suffix)
            if damaged.exists():
                damaged.replace(path.with_name(f"{path.name}{suffix}.damaged"))
        return _open(path)


def _open(path: Path) -> Database:
    conn = sqlite3.connect(str(path))
    try:
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError(f"{path} fails SQLite's quick_check")
        db = Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        if not db["meta"].exists():
            db["meta"].create({"key": str, "value": str}, pk="key")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return db


def bank_meta(db: Database, key: str) -> str | None:
    rows = list(db["meta"].rows_where("key = ?", [key]))
    return rows[0]["value"] if rows else None


def set_bank_meta(db: Database, key: str, value: str) -> None:
    db["meta"].upsert({"key": key, "value": value}, pk="key")


def write_bank(db: Database, notes: list[Note], questions: list[Question], content_hash: str,
               followups: list[Followup] = (), designs: list[DesignRound] = ()) -> None:
    """Replace notes, sections, questions, follow-ups and design rounds in one transaction."""
    with db.atomic():
        for table in BANK_TABLES:
            db[table].drop(ignore=True)
        db["notes"].insert_all(({"id": n.id, "title": n.title, "related": ",".join(n.related), "body": n.body,
                                 "source": n.source, "body_line": n.body_line} for n in notes), pk="id")
        db["sections"].insert_all(({"id": s.id, "note_id": s.note_id, "heading": s.heading, "path": s.path,
                                    "level": s.level, "text": s.text, "line": s.line, "position": i}
                                   for n in notes for i, s in enumerate(n.sections)), pk="id")
        db["questions"].insert_all(({"id": q.id, "topic": q.topic, "difficulty": q.difficulty,
                                     "data": json.dumps(q.to_dict())} for q in questions), pk="id")
        db["followups"].create({"id": str, "question": str, "data": str}, pk="id")
        db["followups"].insert_all(({"id": f.id, "question": f.question, "data": json.dumps(f.to_dict())}
                                    for f in followups), pk="id")
        db["design_rounds"].create({"id": str, "topic": str, "title": str, "data": str}, pk="id")
        db["design_rounds"].insert_all(({"id": d.id, "topic": d.topic, "title": d.title,
                                         "data": json.dumps(d.to_dict())} for d in designs), pk="id")
        set_bank_meta(db, "content_hash", content_hash)


def load_questions(db: Database) -> list[Question]:
    if not db["questions"].exists():
        return []
    return [Question.from_dict(json.loads(row["data"])) for row in db["questions"].rows_where(order_by="id")]


def load_followups(db: Database) -> list[Followup]:
    """Every follow-up, in id order (a bank compiled before follow-ups existed has none)."""
    if not db["followups"].exists():
        return []
    return [Followup.from_dict(json.loads(row["data"])) for row in db["followups"].rows_where(order_by="id")]


def load_designs(db: Database) -> list[DesignRound]:
    if not db["design_rounds"].exists():
        return []
    return [DesignRound.from_dict(json.loads(row["data"])) for row in db["design_rounds"].rows_where(order_by="id")]


def load_notes(db: Database) -> list[Note]:
    if not db["notes"].exists():
        return []
    sections: dict[str, list[Section]] = {}
    for row in db["sections"].rows_where(order_by="note_id, position"):
        sections.setdefault(row["note_id"], []).append(
            Section(row["id"], row["note_id"], row["heading"], row["path"], row["level"], row["text"], row["line"]))
    return [Note(row["id"], row["title"], tuple(r for r in row["related"].split(",") if r), row["body"],
                 tuple(sections.get(row["id"], [])), row["source"], row["body_line"])
            for row in db["notes"].rows_where(order_by="title")]
