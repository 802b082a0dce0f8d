"""The whole user database as one JSON file, and back: refused with a named reason, never half-imported."""
from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from app.storage.import_checks import reference_problems, row_problems
from app.storage.userdb import known_migrations

FORMAT = "interview-coach-user-data"
VERSION = 1


class ImportRefused(Exception):
    """The file cannot be imported; the database was not changed."""


def data_tables(db: Database) -> list[str]:
    return sorted(t for t in db.table_names() if not t.startswith(("_sqlite_migrations", "sqlite_")))


def export_data(db: Database) -> dict:
    applied = [r["name"] for r in db["_sqlite_migrations"].rows_where(order_by="name")]
    return {"format": FORMAT, "version": VERSION, "exported_at": datetime.now(timezone.utc).isoformat(),
            "migrations": applied,
            "tables": {name: {"columns": list(db[name].columns_dict), "rows": list(db[name].rows_where(order_by="rowid"))}
                       for name in data_tables(db)}}


def write_export(db: Database, path: Path) -> dict[str, int]:
    """Write the export atomically (a temporary file renamed into place); returns rows per table."""
    data = export_data(db)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)
    return {name: len(table["rows"]) for name, table in data["tables"].items()}


def read_export(db: Database, path: Path, replace_all: bool = False) -> dict:
    """Parse and check a data file against this database's tables, columns and values. A file that would leave a
    table of the database empty, or carries no table, is refused unless replace_all says that is meant."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportRefused(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportRefused(f"{path} is not an Interview Coach data export: field 'format' must be {FORMAT!r}")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise ImportRefused(f"{path}: field 'version' is {data.get('version')!r}; this app reads version {VERSION}")
    newer = set(data.get("migrations") or []) - known_migrations()
    if newer:
        raise ImportRefused(f"{path} was exported by a newer version of the app (migrations {sorted(newer)})")
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise ImportRefused(f"{path}: field 'tables' must be an object of tables")
    known = set(data_tables(db))
    for name, table in tables.items():
        _check_table(path, name, table, known, db)
    problems = reference_problems(tables, str)
    if problems:
        raise ImportRefused("\n".join(f"{path}: {p}" for p in problems[:20]))
    missing = sorted(known - set(tables))
    if not replace_all and (missing or not any(t["rows"] for t in tables.values())):
        what = f"has no table {', '.join(missing)}" if missing else "holds no rows at all"
        raise ImportRefused(f"{path} {what}: importing it would delete that part of your data. Add --replace-all "
                            "if you mean to replace everything with it.")
    return data


def _check_table(path: Path, name: str, table, known: set[str], db: Database) -> None:
    where = f"{path}: tables.{name}"
    if name not in known:
        raise ImportRefused(f"{where} is not a table of the user database")
    if not isinstance(table, dict) or not isinstance(table.get("rows"), list):
        raise ImportRefused(f"{where} must be an object with a 'rows' list")
    types = db[name].columns_dict
    primary = db[name].pks
    problems = []
    for number, row in enumerate(table["rows"]):
        if not isinstance(row, dict):
            raise ImportRefused(f"{where}.rows[{number}] must be an object")
        unknown = sorted(set(row) - set(types))
        if unknown:
            raise ImportRefused(f"{where}.rows[{number}] has unknown column(s) {unknown}")
        problems += [f"{where}.rows[{number}].{p}" for p in row_problems(name, row, types, primary)]
    if problems:
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ImportRefused("\n".join(problems[:20]) + more)


def import_data(db: Database, path: Path, db_path: Path | None = None,
                replace_all: bool = False) -> tuple[dict[str, int], Path | None]:
    """Replace the user's data with the file's in one transaction, after copying the database aside.

    Returns rows per table and the copy's path. Nothing changes if the file is refused."""
    data = read_export(db, path, replace_all)
    saved = _save_copy(db, db_path) if db_path else None
    try:
        with db.atomic():
            for name in data_tables(db):
                db[name].delete_where()
            for name, table in data["tables"].items():
                for number, row in enumerate(table["rows"]):
                    try:
                        db[name].insert(row)
                    except sqlite3.Error as exc:
                        raise ImportRefused(f"{path}: tables.{name}.rows[{number}] cannot be stored ({exc})") from exc
    except ImportRefused:
        if saved:
            saved.unlink()
        raise
    return {name: len(table["rows"]) for name, table in data["tables"].items()}, saved


def _save_copy(db: Database, db_path: Path) -> Path:
    target = db_path.with_name(f"{db_path.stem}-before-import-{time.strftime('%Y%m%d-%H%M%S')}.db")
    copy = sqlite3.connect(target)
    try:
        db.conn.backup(copy)
    finally:
        copy.close()
    return target
