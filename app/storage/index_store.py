"""Index tables beside the bank: chunks, their FTS5 table, and embedding vectors as blobs."""
from __future__ import annotations

import hashlib
import sqlite3

from sqlite_utils import Database

from app.storage.bank import bank_meta, set_bank_meta


def index_signature(chunks, model_id: str) -> str:
    digest = hashlib.sha256(model_id.encode())
    for chunk in chunks:
        digest.update(f"{chunk.id}\0{chunk.digest}\0".encode())
    return digest.hexdigest()


def index_is_current(db: Database, signature: str) -> bool:
    return db["meta"].exists() and bank_meta(db, "index_signature") == signature and db["chunks_fts"].exists()


def write_chunks(db: Database, chunks) -> None:
    with db.atomic():
        db["chunks"].drop(ignore=True)
        db.execute("DROP TABLE IF EXISTS chunks_fts")
        db["chunks"].insert_all(({"id": c.id, "section_id": c.section_id, "note_id": c.note_id, "heading": c.heading,
                                  "path": c.path, "text": c.text, "digest": c.digest} for c in chunks), pk="id")
        db.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(id UNINDEXED, path, text, tokenize='porter unicode61')")
        db.conn.executemany("INSERT INTO chunks_fts (id, path, text) VALUES (?, ?, ?)",
                            [(c.id, c.path, c.search_text) for c in chunks])


def stored_vector_digests(db: Database, model_id: str) -> set[str]:
    if not db["vectors"].exists():
        return set()
    return {row["digest"] for row in db["vectors"].rows_where("model = ?", [model_id], select="digest")}


def write_vectors(db: Database, model_id: str, rows: list[tuple[str, bytes]]) -> None:
    """Add (or replace) vectors, one transaction per call."""
    with db.atomic():
        if not db["vectors"].exists():
            db["vectors"].create({"digest": str, "model": str, "vector": bytes}, pk=("digest", "model"))
        db["vectors"].insert_all(({"digest": d, "model": model_id, "vector": v} for d, v in rows), replace=True)


def drop_stale_vectors(db: Database, model_id: str, keep: set[str]) -> None:
    """Drop the vectors of chunks that no longer exist."""
    if not db["vectors"].exists():
        return
    with db.atomic():
        stale = [row["digest"] for row in db["vectors"].rows_where("model = ?", [model_id], select="digest")
                 if row["digest"] not in keep]
        for digest in stale:
            db["vectors"].delete_where("digest = ? AND model = ?", [digest, model_id])


def mark_index(db: Database, signature: str) -> None:
    with db.atomic():
        set_bank_meta(db, "index_signature", signature)


def open_index(path: str) -> tuple[sqlite3.Connection, Database]:
    """A connection any thread may use (callers serialise access with their own lock)."""
    conn = sqlite3.connect(path, check_same_thread=False)
    return conn, Database(conn)


def load_chunk_rows(db: Database) -> list[dict]:
    return list(db["chunks"].rows_where(order_by="rowid")) if db["chunks"].exists() else []


def load_vectors(db: Database, model_id: str) -> dict[str, bytes]:
    if not db["vectors"].exists():
        return {}
    return {row["digest"]: row["vector"] for row in db["vectors"].rows_where("model = ?", [model_id])}


def bm25_search(conn: sqlite3.Connection, match: str, limit: int) -> list[tuple[str, float]]:
    """(chunk id, bm25 score, higher is better) for an FTS5 MATCH expression."""
    rows = conn.execute(
        "SELECT id, -bm25(chunks_fts, 0.0, 0.5, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
        "ORDER BY bm25(chunks_fts, 0.0, 0.5, 1.0) LIMIT ?", (match, limit)).fetchall()
    return [(r[0], float(r[1])) for r in rows]
