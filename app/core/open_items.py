"""Open-answer items: follow-ups to a question, the stages of a design round, and probes built from a missed key
point. None has options; each is graded on its key points and misconceptions (a stage calls them mistakes)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.core.model import Point, Question, _point

STAGE_IDS = ("requirements", "architecture", "data", "evaluation", "risks")
FOLLOWUP_KINDS = ("constraint", "depth")


# A misconception (or a design stage's mistake) is a Point with its `correction`: what is true instead.
Misconception = Point


@dataclass(frozen=True)
class Followup:
    id: str
    question: str  # the id of the question it follows
    kind: str
    prompt: str
    answer: str
    notes: tuple[str, ...]
    key_points: tuple[Point, ...]
    misconceptions: tuple[Misconception, ...] = ()
    topic: str = ""

    def as_question(self) -> Question:
        """The shape the grader takes: no options, the model answer as the rationale."""
        return Question(self.id, self.topic, "open", self.prompt, (), "", self.answer, self.key_points,
                        self.misconceptions, self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "kind": self.kind, "prompt": self.prompt,
                "answer": self.answer, "notes": list(self.notes), "topic": self.topic,
                "key_points": [_point_dict(p) for p in self.key_points],
                "misconceptions": [_point_dict(m) for m in self.misconceptions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Followup:
        return cls(str(data["id"]), str(data["question"]), str(data.get("kind", "depth")),
                   str(data["prompt"]).strip(), str(data.get("answer", "")).strip(),
                   tuple(str(n) for n in data.get("notes", ())), tuple(_point(p) for p in data.get("key_points", ())),
                   tuple(_misconception(m) for m in data.get("misconceptions", ())), str(data.get("topic", "")))


@dataclass(frozen=True)
class DesignStage:
    id: str
    title: str
    prompt: str
    minutes: int
    strong: str
    notes: tuple[str, ...]
    key_points: tuple[Point, ...]
    mistakes: tuple[Misconception, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "prompt": self.prompt, "minutes": self.minutes,
                "strong": self.strong, "notes": list(self.notes),
                "key_points": [_point_dict(p) for p in self.key_points],
                "mistakes": [_point_dict(m) for m in self.mistakes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesignStage:
        return cls(str(data["id"]), str(data.get("title", data["id"])), str(data["prompt"]).strip(),
                   int(data.get("minutes", 6)), str(data.get("strong", "")).strip(),
                   tuple(str(n) for n in data.get("notes", ())), tuple(_point(p) for p in data.get("key_points", ())),
                   tuple(_misconception(m) for m in data.get("mistakes", ())))


@dataclass(frozen=True)
class DesignRound:
    id: str
    title: str
    topic: str
    minutes: int
    prompt: str
    notes: tuple[str, ...]
    stages: tuple[DesignStage, ...]

    def stage(self, stage_id: str) -> DesignStage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def stage_question(self, stage_id: str) -> Question:
        """One stage in the grader's shape: the scenario and the stage's own question as the prompt."""
        stage = self.stage(stage_id)
        prompt = f"{self.prompt}\n\n{stage.title}: {stage.prompt}"
        return Question(f"{self.id}:{stage.id}", self.topic, "open", prompt, (), "", stage.strong, stage.key_points,
                        stage.mistakes, stage.notes or self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "topic": self.topic, "minutes": self.minutes,
                "prompt": self.prompt, "notes": list(self.notes), "stage": [s.to_dict() for s in self.stages]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesignRound:
        return cls(str(data["id"]), str(data.get("title", data["id"])), str(data.get("topic", "")),
                   int(data.get("minutes", 30)), str(data["prompt"]).strip(),
                   tuple(str(n) for n in data.get("notes", ())),
                   tuple(DesignStage.from_dict(s) for s in data.get("stage", ())))


_misconception = _point


def _point_dict(point: Point) -> dict[str, Any]:
    data = {"id": point.id, "text": point.text, "alternatives": list(point.alternatives)}
    if point.correction:
        data["correction"] = point.correction
    return data


# A probe: the missed key point's own sentence, asked back as an open question.
PROBE_PROMPT = "You did not mention this point: \"{point}\" Why does it hold in this scenario, and what does it change in your answer?"


def probe_id(question_id: str, point_id: str) -> str:
    return f"{question_id}-probe-{point_id}"


def probe_for(question: Question, point_id: str) -> Question:
    """A probe built from one key point of a question (or of a follow-up or stage), graded on that point alone."""
    point = next(p for p in question.key_points if p.id == point_id)
    text = re.sub(r"\s+", " ", point.text).strip().replace('"', "'")
    if not text.endswith((".", "?", "!")):
        text += "."
    return Question(probe_id(question.id, point.id), question.topic, "open", PROBE_PROMPT.format(point=text), (), "", point.text, (point,), (),
                    question.notes)
