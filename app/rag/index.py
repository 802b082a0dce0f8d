"""The hybrid index: incremental build (only changed chunks re-embedded) and BM25 + dense search."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from app.rag.chunking import chunk_notes
from app.storage import index_store

Embed = Callable[[Sequence[str]], list[list[float]]]
RRF_K = 60
BOOST = 1.5          # RRF multiplier for chunks of the question's own notes
MIN_COSINE = 0.30    # below this (dense) a chunk is "not in the notes" and is never cited
MIN_BM25 = 2.0       # the same gate when only BM25 is available
WORD = re.compile(r"[A-Za-z0-9]+")
STOP = frozenset("a an the and or of to in on for is are be it this that with as at by from i we you they "
                 "would should could will can do does what which how why when should my our your".split())


@dataclass
class Hit:
    chunk_id: str
    section_id: str
    note_id: str
    heading: str
    path: str
    text: str
    score: float      # fused score used for ranking
    cosine: float     # dense similarity (0 when dense is unavailable)
    bm25: float

    @property
    def snippet(self) -> str:
        flat = " ".join(self.text.split())
        return flat[:220] + ("..." if len(flat) > 220 else "")


@dataclass
class BuildReport:
    chunks: int
    embedded: int
    skipped: bool
    mode: str


def sync_index(db, notes, embed: Embed | None, model_id: str) -> BuildReport:
    """Bring the index in line with the notes; a no-change call only compares one signature."""
    chunks = chunk_notes(notes)
    model_key = model_id if embed else "none"
    signature = index_store.index_signature(chunks, model_key)
    mode = "hybrid" if embed else "bm25"
    if index_store.index_is_current(db, signature):
        return BuildReport(len(chunks), 0, True, mode)
    index_store.write_chunks(db, chunks)
    embedded = 0
    if embed:
        have = index_store.stored_vector_digests(db, model_id)
        todo = [c for c in chunks if c.digest not in have]
        vectors = embed([c.embed_text for c in todo]) if todo else []
        rows = [(c.digest, np.asarray(v, dtype=np.float32).tobytes()) for c, v in zip(todo, vectors)]
        index_store.write_vectors(db, model_id, rows, {c.digest for c in chunks})
        embedded = len(todo)
    index_store.mark_index(db, signature)
    return BuildReport(len(chunks), embedded, False, mode)


class Retriever:
    """Searches the index; safe to call from any thread (one lock around SQLite and the embedder)."""

    def __init__(self, db_path: str, embed: Embed | None, model_id: str):
        self._conn, db = index_store.open_index(db_path)
        self._lock = threading.Lock()
        self._embed = embed
        rows = index_store.load_chunk_rows(db)
        self.chunks = {r["id"]: r for r in rows}
        self._order = [r["id"] for r in rows]
        self._position = {cid: i for i, cid in enumerate(self._order)}
        vectors = index_store.load_vectors(db, model_id) if embed else {}
        self.dense = bool(embed) and bool(rows) and all(r["digest"] in vectors for r in rows)
        if self.dense:
            matrix = np.stack([np.frombuffer(vectors[r["digest"]], dtype=np.float32) for r in rows])
            self._matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)

    @property
    def mode(self) -> str:
        return "hybrid" if self.dense else "bm25 only (no embedding model)"

    def search(self, query: str, k: int = 5, method: str = "hybrid", boost_notes: Sequence[str] = (),
               gate: bool = True) -> list[Hit]:
        with self._lock:
            return self._search(query, k, method, set(boost_notes), gate)

    def _search(self, query: str, k: int, method: str, boost: set[str], gate: bool) -> list[Hit]:
        use_dense = self.dense and method in ("hybrid", "dense")
        use_bm25 = method in ("hybrid", "bm25") or not use_dense
        bm25 = self._bm25(query, 50) if use_bm25 else []
        cosines = self._cosines(query) if use_dense else None
        fused: dict[str, float] = {}
        for rank, (cid, _) in enumerate(bm25):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        if cosines is not None:
            for rank, index in enumerate(np.argsort(-cosines)[:50]):
                cid = self._order[index]
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        bm25_scores = dict(bm25)
        hits = []
        for cid, score in fused.items():
            row = self.chunks[cid]
            if row["note_id"] in boost:
                score *= BOOST
            cosine = float(cosines[self._position[cid]]) if cosines is not None else 0.0
            bm = bm25_scores.get(cid, 0.0)
            if gate and (cosine < MIN_COSINE if cosines is not None else bm < MIN_BM25):
                continue
            hits.append(Hit(cid, row["section_id"], row["note_id"], row["heading"], row["path"], row["text"],
                            score, cosine, bm))
        hits.sort(key=lambda h: -h.score)
        return _one_per_section(hits)[:k]

    def _bm25(self, query: str, limit: int) -> list[tuple[str, float]]:
        terms = [t for t in WORD.findall(query.lower()) if t not in STOP]
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))
        return index_store.bm25_search(self._conn, match, limit)

    def _cosines(self, query: str) -> np.ndarray:
        vector = np.asarray(self._embed([query])[0], dtype=np.float32)
        vector /= max(float(np.linalg.norm(vector)), 1e-9)
        return self._matrix @ vector


def _one_per_section(hits: list[Hit]) -> list[Hit]:
    seen, out = set(), []
    for hit in hits:
        if hit.section_id not in seen:
            seen.add(hit.section_id)
            out.append(hit)
    return out
