"""Copies of user.db taken at each start (the last few kept), putting the latest back over a damaged database, and
reading out whatever rows a damaged database still gives."""
from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

from app.storage.backup import FORMAT, VERSION

KEEP = 5
FOLDER = "backups"


def backups(db_path: Path) -> list[Path]:
    """Newest first."""
    folder = db_path.parent / FOLDER
    return sorted(folder.glob(f"{db_path.stem}-*.db"), reverse=True) if folder.is_dir() else []


def take_backup(conn: sqlite3.Connection, db_path: Path, keep: int = KEEP) -> Path:
    """Copy the open database (SQLite's online backup: consistent while in use) and keep the newest `keep` copies."""
    folder = db_path.parent / FOLDER
    folder.mkdir(exist_ok=True)
    # the nanosecond clock keeps names in the order they were taken, several in one second included
    target = folder / f"{db_path.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns():020d}.db"
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    for old in backups(db_path)[keep:]:
        old.unlink()
    return target


def restore_latest(db_path: Path) -> tuple[Path, Path]:
    """Move the damaged database aside (never deleted) and put the newest backup in its place; (backup, aside)."""
    found = backups(db_path)
    if not found:
        raise FileNotFoundError(f"no backup of {db_path.name} in {db_path.parent / FOLDER}")
    aside = db_path.with_name(f"{db_path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        part = db_path.with_name(db_path.name + suffix)
        if part.exists():
            part.replace(aside.with_name(aside.name + suffix))
    source, target = sqlite3.connect(found[0]), sqlite3.connect(db_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return found[0], aside


def salvage(db_path: Path, out: Path) -> dict[str, int]:
    """Every row that can still be read, table by table and row by row, as an export-data file (import-data reads
    it back). Returns rows per table; a table that cannot be read at all is left out."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    tables: dict[str, dict] = {}
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                 if not r[0].startswith("sqlite_")]
    except sqlite3.DatabaseError:
        names = ["attempts", "drafts", "settings", "interviews", "interview_answers", "cards", "reviews"]
    for name in names:
        rows = _readable_rows(conn, name)
        if rows is not None:
            tables[name] = {"rows": rows}
    conn.close()
    migrations = [r.get("name") for r in tables.pop("_sqlite_migrations", {"rows": []})["rows"]]
    data = {"format": FORMAT, "version": VERSION, "exported_at": datetime.now(timezone.utc).isoformat(),
            "migrations": migrations, "salvaged_from": str(db_path), "tables": tables}
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return {name: len(table["rows"]) for name, table in tables.items()}


def _readable_rows(conn: sqlite3.Connection, table: str) -> list[dict] | None:
    try:
        return [dict(r) for r in conn.execute(f'SELECT * FROM "{table}"')]
    except sqlite3.DatabaseError:
        pass
    try:  # the whole scan failed: one row at a time, skipping the damaged ones
        top = conn.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0] or 0
    except sqlite3.DatabaseError:
        return None
    rows = []
    for rowid in range(1, top + 1):
        try:
            row = conn.execute(f'SELECT * FROM "{table}" WHERE rowid = ?', [rowid]).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row is not None:
            rows.append(dict(row))
    return rows


RESTORE, EXPORT, QUIT = "restore", "export", "quit"


def open_with_rescue(db_path: Path, ask, tell):
    """Open user.db and take the start-up backup. A damaged one is never overwritten: `ask(message, choices)` picks
    restoring the latest backup (the damaged file is moved aside), exporting what can be read, or quitting;
    `tell(message)` reports what was done. Returns the database, or None when the app should not start."""
    from app.storage.userdb import UserDbError, open_user_db
    while True:
        try:
            db = open_user_db(db_path)
        except UserDbError as exc:
            choices = ([RESTORE] if backups(db_path) else []) + [EXPORT, QUIT]
            choice = ask(str(exc), choices)
            if choice == RESTORE:
                backup, aside = restore_latest(db_path)
                tell(f"Restored {backup.name}; the damaged database was kept as {aside.name}.")
                continue
            if choice == EXPORT:
                out = db_path.with_name(f"salvaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
                counts = salvage(db_path, out)
                tell(f"Wrote what could be read ({', '.join(f'{n} {t}' for t, n in counts.items()) or 'nothing'}) "
                     f"to {out}. Move {db_path.name} aside, then `python -m app import-data {out} --replace-all`.")
            return None
        if not db.read_only:
            take_backup(db.conn, db_path)
        return db
