"""The plain dataclasses every layer shares: notes, questions, grades, attempts."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DIFFICULTIES = ("easy", "medium", "hard")
VERDICTS = ("incorrect", "partial", "correct")


@dataclass(frozen=True)
class Section:
    id: str  # note-id#slug
    note_id: str
    heading: str
    path: str  # "Title > Heading > Subheading"
    level: int
    text: str
    line: int


@dataclass(frozen=True)
class Note:
    id: str
    title: str
    related: tuple[str, ...]
    body: str
    sections: tuple[Section, ...]
    source: str = ""
    body_line: int = 1
    related_line: int = 1


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    aliases: tuple[str, ...] = ()
    why_not: str = ""  # a wrong option: why it loses in this scenario, shown to a learner who chose it


@dataclass(frozen=True)
class Point:
    """A key point or a misconception: a sentence and its paraphrases."""
    id: str
    text: str
    alternatives: tuple[str, ...] = ()
    correction: str = ""  # a misconception: what is true instead, shown to a learner who stated it

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.text, *self.alternatives)


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    difficulty: str
    prompt: str
    options: tuple[Option, ...]
    correct: str
    rationale: str
    key_points: tuple[Point, ...]
    misconceptions: tuple[Point, ...] = ()
    notes: tuple[str, ...] = ()

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("options", "key_points", "misconceptions"):
            data[key] = [_listed(item) for item in data[key]]
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Question":
        return cls(
            id=str(data["id"]), topic=str(data.get("topic", "")), difficulty=str(data.get("difficulty", "medium")),
            prompt=str(data["prompt"]).strip(),
            options=tuple(Option(str(o["id"]), str(o["label"]), tuple(o.get("aliases", ())),
                                 str(o.get("why_not", "")).strip()) for o in data["options"]),
            correct=str(data["correct"]), rationale=str(data.get("rationale", "")).strip(),
            key_points=tuple(_point(p) for p in data.get("key_points", ())),
            misconceptions=tuple(_point(p) for p in data.get("misconceptions", ())),
            notes=tuple(str(n) for n in data.get("notes", ())),
        )


def _point(data: dict[str, Any]) -> Point:
    return Point(str(data["id"]), str(data["text"]).strip(), tuple(str(a) for a in data.get("alternatives", ())),
                 str(data.get("correction", "")).strip())


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    """An option or point as plain JSON: lists for tuples, and no empty why_not/correction."""
    item = {k: list(v) if isinstance(v, tuple) else v for k, v in item.items()}
    return {k: v for k, v in item.items() if not (k in ("why_not", "correction") and not v)}


@dataclass
class Span:
    start: int
    end: int
    text: str


@dataclass
class PointResult:
    id: str
    text: str
    made: bool
    confidence: float
    span: Span | None = None


@dataclass
class Citation:
    section_id: str
    heading: str
    snippet: str
    score: float


def grader_file(grader: str) -> str:
    """The model file a grade names ('qwen...gguf (sha256 cc32...)' -> 'qwen...gguf'): what a learner recognises."""
    return grader.split(" (sha256")[0]


def path_note(path: str) -> str:
    """' (server logprobs)' for the paths worth naming beside the model; a local model or the rubric say themselves."""
    return f" ({path})" if path.startswith("server") else ""


@dataclass
class Grade:
    question_id: str
    choice: str  # an option id or "none"
    choice_confidence: float
    key_points: list[PointResult]
    misconceptions: list[PointResult]
    flags: list[str]
    verdict: str
    score: int
    correct: str
    rationale: str
    explanation: str = ""
    citations: list[Citation] = field(default_factory=list)
    grader: str = "rubric only"
    timings: dict[str, float] = field(default_factory=dict)
    retrieval_mode: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)  # lexical and model scores behind the choice
    notice: str = ""  # what went wrong while grading, in plain words (a model that crashed, ...)
    path: str = ""  # how the model part was read: server logprobs, server constrained reply, local model, rubric

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Grade":
        def results(items: list[dict]) -> list[PointResult]:
            return [PointResult(i["id"], i["text"], i["made"], i["confidence"],
                                Span(**i["span"]) if i.get("span") else None) for i in items]
        return cls(
            question_id=data["question_id"], choice=data["choice"], choice_confidence=data["choice_confidence"],
            key_points=results(data["key_points"]), misconceptions=results(data["misconceptions"]),
            flags=list(data["flags"]), verdict=data["verdict"], score=data["score"], correct=data["correct"],
            rationale=data["rationale"], explanation=data.get("explanation", ""),
            citations=[Citation(**c) for c in data.get("citations", [])], grader=data.get("grader", "rubric only"),
            timings=dict(data.get("timings", {})), retrieval_mode=data.get("retrieval_mode", ""),
            evidence=dict(data.get("evidence", {})), notice=str(data.get("notice", "")),
            path=str(data.get("path", "")),
        )
