"""The hybrid index: incremental build (only changed chunks re-embedded) and BM25 + dense search."""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from app.rag.chunking import chunk_notes, plain_text
from app.rag.gate import features as gate_features
from app.rag.gate import load_gate
from app.storage import index_store

Embed = Callable[[Sequence[str]], list[list[float]]]
INDEX_FORMAT = 2     # part of the index signature: bump when what is indexed changes, so old indexes rebuild
BM25_WEIGHT = 0.4    # share of BM25 in the fused score, the rest is cosine (both min-max scaled per query)
BM25_DEPTH = 100     # BM25 scores beyond this rank count as 0
BOOST = 1.5          # fused-score multiplier for chunks of the question's own notes
MIN_COSINE = 0.30    # below this (dense) a chunk is "not in the notes" and is never cited
MIN_BM25 = 2.0       # the same gate when only BM25 is available
CUE_DEPTH = 3        # the question-bank scenarios nearest a query whose topic notes get lifted
CUE_WEIGHT = 0.25    # fused score added to a note's chunks, times the cosine of its nearest such scenario
LIST_MARK = re.compile(r"(?m)^\s*(?:[-*+]|\d+\.)\s+")
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
        """Plain words for a learner to read: no Markdown marks, no list bullets, no table pipes."""
        flat = " ".join(LIST_MARK.sub("", plain_text(self.text)).split())
        return flat[:220] + ("..." if len(flat) > 220 else "")


@dataclass
class Lookup:
    hits: list[Hit]
    in_notes: bool                 # False: "probably not in the notes"; the hits are then the closest sections
    confidence: float | None       # the fitted gate's P(the notes answer it); None when a fixed gate decided


EMBED_BATCH = 8        # chunks embedded (and saved) per step: progress and cancelling act at this grain


@dataclass
class BuildReport:
    chunks: int
    embedded: int
    skipped: bool
    mode: str
    pending: int = 0  # chunks still to embed (embedding deferred, or cancelled part-way)


@dataclass(frozen=True)
class Cue:
    """A question-bank scenario in the bank's words, pointing at its topic note: a learner's question that reads
    like a scenario finds the scenario, and so the note, even when it shares few words with the note itself."""
    topic: str
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def question_cues(questions) -> list[Cue]:
    return [Cue(q.topic, " ".join([q.prompt.strip(), *(k.text for k in q.key_points)])) for q in questions]


def cue_model(model_id: str) -> str:
    """Cue vectors are stored under their own key, so rebuilding the chunk vectors never drops them."""
    return f"{model_id}/cues"


def sync_cues(db, cues: list[Cue], embed: Embed, model_id: str, pause: Callable[[], None] | None = None) -> int:
    """Embed the cues that have no vector yet (the question bank changed) and drop the stale ones. `pause` is called
    before each batch (the GUI's build waits there while the chat model works)."""
    key = cue_model(model_id)
    have = index_store.stored_vector_digests(db, key)
    missing = list({c.digest: c for c in cues if c.digest not in have}.values())
    for start in range(0, len(missing), EMBED_BATCH):
        if pause:
            pause()
        batch = missing[start:start + EMBED_BATCH]
        index_store.write_vectors(db, key, [(c.digest, np.asarray(v, dtype=np.float32).tobytes())
                                            for c, v in zip(batch, embed([c.text for c in batch]))])
    index_store.drop_stale_vectors(db, key, {c.digest for c in cues})
    return len(missing)


def _signature(chunks, embed: Embed | None, model_id: str) -> str:
    model_key = model_id if embed else "none"
    return index_store.index_signature(chunks, f"{model_key}/{INDEX_FORMAT}")


def sync_index(db, notes, embed: Embed | None, model_id: str, defer_embedding: bool = False) -> BuildReport:
    """Bring the index in line with the notes; a no-change call only compares one signature.
    With defer_embedding, the chunks (and so BM25 search) are brought up to date at once and the chunks that need a
    vector are only counted: `embed_pending` embeds them later, off the thread that shows the window."""
    chunks = chunk_notes(notes)
    signature = _signature(chunks, embed, model_id)
    mode = "hybrid" if embed else "bm25"
    if index_store.index_is_current(db, signature):
        return BuildReport(len(chunks), 0, True, mode)
    index_store.write_chunks(db, chunks)
    if not embed:
        index_store.mark_index(db, signature)
        return BuildReport(len(chunks), 0, False, mode)
    missing = _unembedded(db, chunks, model_id)
    if defer_embedding and missing:
        return BuildReport(len(chunks), 0, False, "bm25", len(missing))
    return _embed_missing(db, chunks, missing, embed, model_id)


def _unembedded(db, chunks, model_id: str) -> list:
    have = index_store.stored_vector_digests(db, model_id)
    return [c for c in chunks if c.digest not in have]


def embed_pending(db, notes, embed: Embed, model_id: str, progress: Callable[[int, int], None] | None = None,
                  cancel: threading.Event | None = None, pause: Callable[[], None] | None = None) -> BuildReport:
    """Embed the chunks that have no vector yet, saving every batch, so a cancelled build keeps what it did.
    The chunks must already be written (sync_index does that). `pause` is called before each batch."""
    chunks = chunk_notes(notes)
    return _embed_missing(db, chunks, _unembedded(db, chunks, model_id), embed, model_id, progress, cancel, pause)


def _embed_missing(db, chunks, missing, embed: Embed, model_id: str,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None, pause: Callable[[], None] | None = None) -> BuildReport:
    embedded = 0
    for start in range(0, len(missing), EMBED_BATCH):
        if pause:
            pause()
        if cancel is not None and cancel.is_set():
            return BuildReport(len(chunks), embedded, False, "bm25", len(missing) - embedded)
        batch = missing[start:start + EMBED_BATCH]
        vectors = embed([c.embed_text for c in batch])
        index_store.write_vectors(db, model_id, [(c.digest, np.asarray(v, dtype=np.float32).tobytes())
                                                 for c, v in zip(batch, vectors)])
        embedded += len(batch)
        if progress:
            progress(embedded, len(missing))
    index_store.drop_stale_vectors(db, model_id, {c.digest for c in chunks})
    index_store.mark_index(db, _signature(chunks, embed, model_id))
    return BuildReport(len(chunks), embedded, False, "hybrid")


class Retriever:
    """Searches the index; safe to call from any thread (one lock around SQLite and the embedder)."""

    def __init__(self, db_path: str, embed: Embed | None, model_id: str, cues: Sequence[Cue] = ()):
        self._conn, db = index_store.open_index(db_path)
        self._lock = threading.Lock()
        self._embed = embed
        rows = index_store.load_chunk_rows(db)
        self.chunks = {r["id"]: r for r in rows}
        self._order = [r["id"] for r in rows]
        self._position = {cid: i for i, cid in enumerate(self._order)}
        self._note_ids = np.array([r["note_id"] for r in rows])
        vectors = index_store.load_vectors(db, model_id) if embed else {}
        self.dense = bool(embed) and bool(rows) and all(r["digest"] in vectors for r in rows)
        if self.dense:
            matrix = np.stack([np.frombuffer(vectors[r["digest"]], dtype=np.float32) for r in rows])
            self._matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
        self._cue_topics, self._cues = self._load_cues(db, cues, model_id) if self.dense else (None, None)
        fitted = load_gate() if self.dense else None
        self.gate = fitted if fitted is not None and fitted.model_id == model_id else None

    @staticmethod
    def _load_cues(db, cues: Sequence[Cue], model_id: str):
        stored = index_store.load_vectors(db, cue_model(model_id)) if cues else {}
        if not cues or any(c.digest not in stored for c in cues):
            return None, None  # no expansion until every cue has a vector
        matrix = np.stack([np.frombuffer(stored[c.digest], dtype=np.float32) for c in cues])
        return np.array([c.topic for c in cues]), matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)

    @property
    def expands(self) -> bool:
        return self._cues is not None

    @property
    def mode(self) -> str:
        if self.dense:
            return "hybrid"
        return "bm25 only (notes index still building)" if self._embed else "bm25 only (no embedding model)"

    def search(self, query: str, k: int = 5, method: str = "hybrid", boost_notes: Sequence[str] = (),
               gate: bool = True) -> list[Hit]:
        with self._lock:
            return self._search(query, k, method, set(boost_notes), gate)

    def lookup(self, query: str, k: int = 5) -> Lookup:
        """The search box's answer: the best sections, never an empty list when any section shares a word or the
        embedder is up, and whether the notes probably answer the query (the fitted gate; without it, or with
        BM25 alone, the fixed gates)."""
        with self._lock:
            bm25, cosines, fused = self._scores(query, "hybrid", set())
            hits = self._hits(bm25, cosines, fused, k, np.ones(len(fused), dtype=bool) if cosines is not None
                              else bm25 > 0)
        if cosines is None:
            return Lookup(hits, bool(hits) and hits[0].bm25 >= MIN_BM25, None)
        if self.gate is None:
            return Lookup(hits, bool(cosines.max() >= MIN_COSINE), None)
        confidence = self.gate.probability(gate_features(cosines, bm25))
        return Lookup(hits, confidence >= self.gate.threshold, confidence)

    def gate_features(self, query: str) -> tuple[float, float] | None:
        """What the fitted gate reads for a query (None without dense search): for fitting and reports."""
        with self._lock:
            bm25, cosines, _ = self._scores(query, "hybrid", set())
        return gate_features(cosines, bm25) if cosines is not None else None

    def _scores(self, query: str, method: str, boost: set[str]):
        use_dense = self.dense and method in ("hybrid", "dense")
        use_bm25 = method in ("hybrid", "bm25") or not use_dense
        bm25 = np.zeros(len(self._order), dtype=np.float32)
        for cid, score in (self._bm25(query, BM25_DEPTH) if use_bm25 else []):
            bm25[self._position[cid]] = score
        cosines, vector = self._cosines(query) if use_dense else (None, None)
        fused = fuse(bm25 if use_bm25 else None, cosines)
        if vector is not None and method == "hybrid" and not boost and self._cues is not None:
            fused = fused + self._cue_lift(vector)
        if boost:
            fused = np.where(np.isin(self._note_ids, list(boost)), fused * BOOST, fused)
        return bm25, cosines, fused

    def _search(self, query: str, k: int, method: str, boost: set[str], gate: bool) -> list[Hit]:
        bm25, cosines, fused = self._scores(query, method, boost)
        if cosines is None:
            keep = bm25 >= MIN_BM25 if gate else bm25 > 0
        else:
            keep = cosines >= MIN_COSINE if gate else np.ones(len(fused), dtype=bool)
        return self._hits(bm25, cosines, fused, k, keep)

    def _hits(self, bm25, cosines, fused, k: int, keep) -> list[Hit]:
        hits, sections = [], set()
        candidates = np.flatnonzero(keep)
        for index in candidates[np.argsort(-fused[candidates], kind="stable")]:
            row = self.chunks[self._order[index]]
            if row["section_id"] in sections:
                continue
            sections.add(row["section_id"])
            hits.append(Hit(row["id"], row["section_id"], row["note_id"], row["heading"], row["path"], row["text"],
                            float(fused[index]), float(cosines[index]) if cosines is not None else 0.0,
                            float(bm25[index])))
            if len(hits) == k:
                break
        return hits

    def _bm25(self, query: str, limit: int) -> list[tuple[str, float]]:
        terms = [t for t in WORD.findall(query.lower()) if t not in STOP]
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))
        return index_store.bm25_search(self._conn, match, limit)

    def _cosines(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        vector = np.asarray(self._embed([query])[0], dtype=np.float32)
        vector /= max(float(np.linalg.norm(vector)), 1e-9)
        return self._matrix @ vector, vector

    def _cue_lift(self, vector: np.ndarray) -> np.ndarray:
        """Query expansion from the question bank: the chunks of the notes whose scenarios are nearest the query."""
        similarity = self._cues @ vector
        lift = np.zeros(len(self._order), dtype=np.float32)
        for i in np.argsort(-similarity)[:CUE_DEPTH]:
            lift = np.maximum(lift, np.where(self._note_ids == self._cue_topics[i], CUE_WEIGHT * similarity[i], 0))
        return lift


def fuse(bm25: np.ndarray | None, cosines: np.ndarray | None) -> np.ndarray:
    """A convex combination of BM25 (divided by this query's best) and cosine (min-max scaled).

    Unlike reciprocal rank fusion this keeps how far apart the scores are: a chunk far ahead in
    one list is not pulled level with one that is merely ranked next in the other.
    """
    parts = []
    if bm25 is not None:
        top = float(bm25.max())
        parts.append((BM25_WEIGHT, bm25 / top if top > 0 else bm25))
    if cosines is not None:
        low, high = float(cosines.min()), float(cosines.max())
        parts.append((1.0 - BM25_WEIGHT, (cosines - low) / (high - low) if high > low else cosines * 0))
    total = sum(weight for weight, _ in parts)
    return sum(weight / total * scores for weight, scores in parts)
