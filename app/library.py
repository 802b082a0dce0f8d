"""Opens everything that needs no chat model: the compiled bank, the notes, the retrieval index."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app import paths
from app.content.compile import compile_bank
from app.content.errors import ContentInvalid
from app.core.model import Note, Question
from app.core.open_items import DesignRound, Followup
from app.core.thread import resolve_item
from app.llm.files import ModelFileError, embed_model_path
from app.llm.grader import GradingTools, embedding_similarity
from app.llm.process import ModelCrashed
from app.llm.remote import RemoteEmbedder
from app.rag.index import (
    BuildReport,
    Retriever,
    embed_pending,
    question_cues,
    sync_cues,
    sync_index,
)
from app.storage.bank import (
    load_designs,
    load_followups,
    load_notes,
    load_questions,
    open_bank,
)

ANY = "any"


@dataclass
class Library:
    questions: list[Question]
    notes: list[Note]
    retriever: Retriever | None
    embedder: RemoteEmbedder | None
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    bank_path: Path | None = None
    pending_embeddings: int = 0  # note chunks still without a vector (the window builds them after it shows)
    # the GUI searches by keywords while the embedding model is down; the command line reports the crash instead
    keywords_on_crash: bool = False
    followups: list[Followup] = field(default_factory=list)
    designs: list[DesignRound] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cues = question_cues(self.questions)  # the search's query expansion from the question bank
        self.by_id = {q.id: q for q in self.questions}
        self.notes_by_id = {n.id: n for n in self.notes}
        self.followups_by_id = {f.id: f for f in self.followups}
        self.designs_by_id = {d.id: d for d in self.designs}

    def followups_of(self, question_id: str) -> list[Followup]:
        return [f for f in self.followups if f.question == question_id]

    def item(self, item_id: str) -> Question | None:
        """A question, follow-up, probe or design stage by its id, in the grader's shape."""
        return resolve_item(item_id, self.by_id, self.followups_by_id, self.designs_by_id)

    def section_name(self, ref: str) -> str:
        """'Heading (in Note title)' for a section id, the note's title for a note id, the id itself if unknown:
        what a learner reads where the code has an id."""
        note = self.notes_by_id.get(ref.partition("#")[0])
        if note is None:
            return ref
        section = next((s for s in note.sections if s.id == ref), None)
        return f"{section.heading} (in {note.title})" if section else note.title

    def topics(self) -> list[tuple[str, str]]:
        used = {q.topic for q in self.questions}
        return sorted(((n.id, n.title) for n in self.notes if n.id in used), key=lambda t: t[1])

    def pick_question(self, topic: str = ANY, difficulty: str = ANY, exclude: str | None = None,
                      rng: random.Random | None = None) -> Question | None:
        pool = [q for q in self.questions if (topic == ANY or q.topic == topic)
                and (difficulty == ANY or q.difficulty == difficulty)]
        if len(pool) > 1 and exclude:
            pool = [q for q in pool if q.id != exclude]
        return (rng or random).choice(pool) if pool else None

    def finish_index(self, progress=None, cancel: threading.Event | None = None, pause=None) -> BuildReport:
        """Embed the chunks open_library deferred (on any thread, with its own connection), then switch retrieval
        from BM25 to hybrid. A cancelled build keeps the batches it saved; the next start goes on from there.
        `pause` is called before each batch of texts (the GUI waits there while the chat model works)."""
        db = open_bank(self.bank_path)
        try:
            try:
                report = embed_pending(db, self.notes, self.embedder, self.embedder.model_id, progress, cancel, pause)
            except ModelCrashed:
                # once more with the restarted process: the saved batches are kept, so it goes on from there
                report = embed_pending(db, self.notes, self.embedder, self.embedder.model_id, progress, cancel, pause)
            if not report.pending and not (cancel is not None and cancel.is_set()):
                sync_cues(db, self.cues, self.embedder, self.embedder.model_id, pause)
        finally:
            db.conn.close()
        self.pending_embeddings = report.pending
        if not report.pending:
            self.retriever = Retriever(str(self.bank_path), self.embedder, self.embedder.model_id, self.cues)
        return report

    @property
    def expansion_ready(self) -> bool:
        """Whether search lifts notes by their question-bank scenarios (every scenario has a vector)."""
        return self.retriever is not None and self.retriever.expands

    def drop_embedder(self) -> None:
        """The embedding model would not load: go on with keyword (BM25) search and lexical grading signals."""
        self.embedder = None
        self.pending_embeddings = 0
        if self.retriever is not None:
            self.retriever = Retriever(str(self.bank_path), None, "none")

    def grading_tools(self, engine=None) -> GradingTools:
        """What the grader uses: the given chat engine (None: rubric only), this library's embeddings and index.
        The one place the GUI, the command line and the bench assemble them."""
        similarity = embedding_similarity(self.embedder) if self.embedder else None
        return GradingTools(engine, similarity, self.retrieve)

    def retrieve(self, query: str, k: int = 5, boost: list[str] | tuple = (), gate: bool = True):
        """The sections for a query; `gate=False` also returns the closest ones below the not-in-the-notes gate."""
        if self.retriever is None:
            return [], "no index"
        try:
            return self.retriever.search(query, k, boost_notes=boost, gate=gate), self.retriever.mode
        except ModelCrashed:
            if not self.keywords_on_crash:
                raise
            return (self.retriever.search(query, k, method="bm25", boost_notes=boost, gate=gate),
                    "bm25 only (the embedding model stopped; it restarts on the next search)")


    def lookup(self, query: str, k: int = 5):
        """The search box's answer (a Lookup: hits, in_notes, confidence) and the retrieval mode."""
        if self.retriever is None:
            return None, "no index"
        try:
            return self.retriever.lookup(query, k), self.retriever.mode
        except ModelCrashed:
            if not self.keywords_on_crash:
                raise
            keywords = Retriever(str(self.bank_path), None, "none")
            return keywords.lookup(query, k), "bm25 only (the embedding model stopped; it restarts on the next search)"


def open_library(content_root: Path | None = None, bank_path: Path | None = None,
                 models_dir: Path | None = None, defer_embedding: bool = False) -> Library:
    """Compile the bank if content changed, sync the index, load questions and notes into memory.
    With defer_embedding (the GUI), chunks that need a vector are left for `Library.finish_index`: the first start
    would otherwise keep the window hidden for the half minute or more it takes to embed every note."""
    content_root = content_root or paths.content_dir()
    bank_path = bank_path or paths.bank_db_path()
    models_dir = models_dir or paths.models_dir()
    timings, problems = {}, []
    t = time.perf_counter()
    db = open_bank(bank_path)
    try:
        compile_bank(db, content_root)
    except ContentInvalid as exc:
        shown = "\n".join(str(e) for e in exc.errors[:5])
        fallback = "using the last good bank" if load_questions(db) else "and there is no earlier good bank"
        problems.append(f"content/ has {len(exc.errors)} problem(s); {fallback}.\n{shown}")
    timings["compile_s"] = time.perf_counter() - t
    notes = load_notes(db)
    embedder = None
    embed_path = embed_model_path(models_dir)
    if embed_path is None:
        problems.append("No embedding model in models/embed/: search and citations use BM25 only.")
    else:
        try:
            found = RemoteEmbedder(embed_path)
            if not defer_embedding:
                found.load()  # the GUI loads it on a thread after the window shows (IndexBuilder)
            embedder = found
        except ModelFileError as exc:
            problems.append(f"{exc}: search and citations use BM25 only.")
    t = time.perf_counter()
    model_id = embedder.model_id if embedder else "none"
    report = sync_index(db, notes, embedder, model_id, defer_embedding)
    questions = load_questions(db)
    cues = question_cues(questions)
    if embedder is not None and not report.pending and not defer_embedding:
        timings["cues_embedded"] = sync_cues(db, cues, embedder, model_id)  # the GUI does this in finish_index
    timings["index_s"] = time.perf_counter() - t
    timings["index_embedded"] = report.embedded
    retriever = Retriever(str(bank_path), embedder, model_id, cues) if report.chunks else None
    followups, designs = load_followups(db), load_designs(db)
    db.conn.close()
    return Library(questions, notes, retriever, embedder, problems, timings, bank_path, report.pending,
                   followups=followups, designs=designs)
