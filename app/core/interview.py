"""A timed mock interview as a state machine: settings, answers, timeouts, pause, restore and finish. An interview is
one thread: a question may be followed by a follow-up (inserted the moment its answer is submitted), and a design
round's stages are answered in turn against the round's total limit."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from app.core.model import DIFFICULTIES, Grade

Clock = Callable[[], float]  # seconds from any fixed origin; time.monotonic in the app, a fake in tests

MODES = ("interview", "coached")
GRADED_OUTCOMES = ("answered", "timed out")
OUTCOMES = (*GRADED_OUTCOMES, "skipped", "not answered")
RUNNING_PHASES = ("answering", "paused", "between", "suspended")
STATE_VERSION = 1
WARN_SECONDS = 30.0
KINDS = ("question", "followup", "probe", "stage")  # what a slot asks


class InterviewError(ValueError):
    """An interview was set up or driven wrongly, or its saved state is unreadable; the message says where."""


@dataclass
class InterviewSettings:
    count: int = 3
    seconds_per_question: int = 240
    total_seconds: int = 0                      # 0: no limit for the whole session
    topics: tuple[str, ...] = ()                # empty: every topic
    weak_topics: bool = False                   # weight the mix towards topics with lower recent scores
    difficulty_mix: dict[str, int] = field(default_factory=lambda: {"easy": 1, "medium": 1, "hard": 1})
    mode: str = "interview"                     # interview: feedback only in the report; coached: after each answer
    allow_pause: bool = False
    followups: bool = False                     # each answered question is followed by a follow-up or a probe
    followup_seconds: int = 180
    design_round: str = ""                      # "": none; "any": one picked; else a design round's id
    design_minutes: int = 0                     # 0: the round's own total (30 min by default)

    def validate(self) -> None:
        if not (0 if self.design_round else 1) <= self.count <= 30:
            raise InterviewError(f"settings.count must be 1-30 (0 with a design round), got {self.count}")
        if self.followup_seconds < 1 or self.design_minutes < 0:
            raise InterviewError("settings.followup_seconds must be positive and settings.design_minutes not negative")
        if self.seconds_per_question < 1:
            raise InterviewError(f"settings.seconds_per_question must be positive, got {self.seconds_per_question}")
        if self.total_seconds < 0:
            raise InterviewError(f"settings.total_seconds must be 0 (no limit) or positive, got {self.total_seconds}")
        if self.mode not in MODES:
            raise InterviewError(f"settings.mode must be one of {MODES}, got {self.mode!r}")
        unknown = set(self.difficulty_mix) - set(DIFFICULTIES)
        if unknown or any(w < 0 for w in self.difficulty_mix.values()) or sum(self.difficulty_mix.values()) <= 0:
            raise InterviewError(f"settings.difficulty_mix needs non-negative weights for {DIFFICULTIES} "
                                 f"with a positive sum, got {self.difficulty_mix}")

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "seconds_per_question": self.seconds_per_question,
                "total_seconds": self.total_seconds, "topics": list(self.topics), "weak_topics": self.weak_topics,
                "difficulty_mix": dict(self.difficulty_mix), "mode": self.mode, "allow_pause": self.allow_pause,
                "followups": self.followups, "followup_seconds": self.followup_seconds,
                "design_round": self.design_round, "design_minutes": self.design_minutes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InterviewSettings":
        try:
            settings = cls(count=int(data["count"]), seconds_per_question=int(data["seconds_per_question"]),
                           total_seconds=int(data.get("total_seconds", 0)),
                           topics=tuple(str(t) for t in data.get("topics", ())),
                           weak_topics=bool(data.get("weak_topics", False)),
                           difficulty_mix={str(k): int(v) for k, v in data.get("difficulty_mix", {}).items()}
                           or {"easy": 1, "medium": 1, "hard": 1},
                           mode=str(data.get("mode", "interview")), allow_pause=bool(data.get("allow_pause", False)),
                           followups=bool(data.get("followups", False)),
                           followup_seconds=int(data.get("followup_seconds", 180)),
                           design_round=str(data.get("design_round", "")),
                           design_minutes=int(data.get("design_minutes", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InterviewError(f"settings: missing or invalid field ({exc!r}) in {data!r}") from exc
        settings.validate()
        return settings

    def summary(self) -> str:
        parts = [f"{self.count} x {format_minutes(self.seconds_per_question)}"] if self.count else []
        if self.followups:
            parts.append("with follow-ups")
        if self.design_round:
            parts.append("design round" + (f" {format_minutes(self.design_minutes * 60)}" if self.design_minutes else ""))
        parts.append(self.mode)
        if self.total_seconds:
            parts.append(f"session limit {format_minutes(self.total_seconds)}")
        if self.weak_topics:
            parts.append("weak topics")
        elif self.topics:
            parts.append(f"{len(self.topics)} topic{'s' if len(self.topics) > 1 else ''}")
        mix = [d for d in DIFFICULTIES if self.difficulty_mix.get(d)]
        parts.append("/".join(mix) if len(mix) < 3 else "all levels")
        return " · ".join(parts)


PRESETS = {
    "Quick 3 x 4 min": InterviewSettings(count=3, seconds_per_question=240),
    "Full 8 x 5 min": InterviewSettings(count=8, seconds_per_question=300, total_seconds=40 * 60),
    "Full loop: 4 questions with follow-ups + 1 design round": InterviewSettings(
        count=4, seconds_per_question=300, followups=True, design_round="any"),
    "Design round 30 min": InterviewSettings(count=0, design_round="any"),
}


def format_minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def format_clock(seconds: float) -> str:
    whole = max(0, int(round(seconds)))
    return f"{whole // 60}:{whole % 60:02d}"


@dataclass
class Slot:
    """One planned question (or follow-up, probe, design stage) and, once submitted, what happened to it."""
    question_id: str            # for a follow-up, probe or stage: its item id (see core.open_items)
    topic: str
    difficulty: str
    outcome: str = ""           # "" until submitted, then one of OUTCOMES
    answer: str = ""
    seconds: float = 0.0
    grade: Grade | None = None
    kind: str = "question"      # one of KINDS
    parent: int = -1            # a follow-up's or probe's question (slot index)
    prompt: str = ""            # what a follow-up, probe or stage asks, as shown
    limit: float = 0.0          # seconds for this slot (a stage: its round's total); 0: settings.seconds_per_question
    round_id: str = ""          # a stage's design round
    suggested: float = 0.0      # a stage's suggested seconds
    order: tuple[str, ...] = ()  # a question's options in the order shown (empty: the bank's order)

    @property
    def needs_grade(self) -> bool:
        return self.outcome in GRADED_OUTCOMES and self.grade is None

    def to_dict(self) -> dict[str, Any]:
        data = {"question_id": self.question_id, "topic": self.topic, "difficulty": self.difficulty,
                "outcome": self.outcome, "answer": self.answer, "seconds": round(self.seconds, 3),
                "grade": self.grade.to_dict() if self.grade else None}
        if self.order:
            data["order"] = list(self.order)
        if self.kind != "question":
            data.update(kind=self.kind, parent=self.parent, prompt=self.prompt, limit=self.limit,
                        round_id=self.round_id, suggested=self.suggested)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Slot":
        outcome = str(data.get("outcome", ""))
        if outcome and outcome not in OUTCOMES:
            raise InterviewError(f"slots: unknown outcome {outcome!r} for {data.get('question_id')}")
        kind = str(data.get("kind", "question"))
        if kind not in KINDS:
            raise InterviewError(f"slots: unknown kind {kind!r} for {data.get('question_id')}")
        return cls(str(data["question_id"]), str(data.get("topic", "")), str(data.get("difficulty", "")), outcome,
                   str(data.get("answer", "")), float(data.get("seconds", 0.0)),
                   Grade.from_dict(data["grade"]) if data.get("grade") else None, kind, int(data.get("parent", -1)),
                   str(data.get("prompt", "")), float(data.get("limit", 0.0)), str(data.get("round_id", "")),
                   float(data.get("suggested", 0.0)), tuple(str(i) for i in data.get("order") or ()))


@dataclass
class Submission:
    """What the view persists the moment a question is closed."""
    index: int
    question_id: str
    answer: str
    seconds: float
    outcome: str


# (index of the submitted question, its slot) -> the follow-up's slot, or None for no follow-up
FollowupChooser = Callable[[int, "Slot"], "Slot | None"]


class Interview:
    """Phases: ready -> answering (<-> paused, -> between in coached mode) -> finished or abandoned.
    A restored interview that was running comes back 'suspended' until resumed or finished."""

    def __init__(self, settings: InterviewSettings, slots: list[Slot], clock: Clock,
                 followup: FollowupChooser | None = None):
        settings.validate()
        if not slots:
            raise InterviewError("an interview needs at least one question")
        self.settings, self.slots, self.clock = settings, slots, clock
        self.followup = followup  # asked for a follow-up the moment a question's answer is submitted
        self.phase = "ready"
        self.current = 0
        self.draft = ""
        self._elapsed_before = 0.0          # time on the current question before the running segment
        self._segment_start: float | None = None

    # -- reading the clock ------------------------------------------------------------------
    @property
    def question_elapsed(self) -> float:
        running = self.clock() - self._segment_start if self._segment_start is not None else 0.0
        return self._elapsed_before + running

    @property
    def question_limit(self) -> float:
        """The current slot's time limit in seconds; for a stage, what its round has left when the stage began."""
        slot = self.current_slot
        if slot is None:
            return float(self.settings.seconds_per_question)
        if slot.kind == "stage":
            return max(0.0, slot.limit - self.round_used(slot.round_id))
        return slot.limit or float(self.settings.seconds_per_question)

    @property
    def question_remaining(self) -> float:
        return max(0.0, self.question_limit - self.question_elapsed)

    def round_used(self, round_id: str) -> float:
        """Seconds spent on the submitted stages of a design round."""
        return sum(s.seconds for s in self.slots if s.round_id == round_id and s.kind == "stage" and s.outcome)

    def round_remaining(self, round_id: str) -> float:
        limit = next((s.limit for s in self.slots if s.round_id == round_id and s.kind == "stage"), 0.0)
        running = self.question_elapsed if (self.current_slot and self.current_slot.round_id == round_id) else 0.0
        return max(0.0, limit - self.round_used(round_id) - running)

    @property
    def session_elapsed(self) -> float:
        done = sum(s.seconds for s in self.slots if s.outcome)
        return done + (self.question_elapsed if self.phase in RUNNING_PHASES else 0.0)

    @property
    def session_remaining(self) -> float | None:
        if not self.settings.total_seconds:
            return None
        return max(0.0, self.settings.total_seconds - self.session_elapsed)

    @property
    def warning(self) -> bool:
        """Time is nearly up on the question or the session."""
        if self.phase != "answering":
            return False
        near = min(WARN_SECONDS, 0.25 * self.question_limit)
        session = self.session_remaining
        return self.question_remaining <= near or (session is not None and session <= WARN_SECONDS)

    @property
    def finished(self) -> bool:
        return self.phase in ("finished", "abandoned")

    @property
    def current_slot(self) -> Slot | None:
        return self.slots[self.current] if self.current < len(self.slots) and not self.finished else None

    # -- driving it ---------------------------------------------------------------------------
    def start(self) -> None:
        self._require("ready")
        self._begin_segment()

    def set_draft(self, text: str) -> None:
        if not self.finished:
            self.draft = text

    def answer(self, text: str | None = None) -> Submission:
        self._require("answering")
        return self._submit("answered", self.draft if text is None else text)

    def skip(self) -> Submission:
        self._require("answering")
        return self._submit("skipped", self.draft)

    def tick(self) -> list[Submission]:
        """Submit whatever is written when the question's or the session's time has run out."""
        if self.phase != "answering":
            return []
        session = self.session_remaining
        if session is not None and session <= 0:
            over = self.session_elapsed - self.settings.total_seconds
            submission = self._submit("timed out", self.draft, max(0.0, self.question_elapsed - over))
            self._close("finished")
            return [submission]
        if self.question_remaining <= 0:
            return [self._submit("timed out", self.draft, self.question_limit)]
        return []

    def pause(self) -> None:
        if not self.settings.allow_pause:
            raise InterviewError("pausing was not allowed in this interview's setup")
        self._require("answering")
        self._end_segment()
        self.phase = "paused"

    def resume(self) -> None:
        self._require("paused", "suspended")
        self._begin_segment()

    def next_question(self) -> None:
        """Coached mode: leave the feedback on the last answer and start the next question's clock."""
        self._require("between")
        self._begin_segment()

    def finish(self) -> list[Submission]:
        """Finish as it stands: what is written on the current question is submitted, the rest is not answered."""
        return self._close("finished")

    def abandon(self) -> list[Submission]:
        return self._close("abandoned")

    def record_grade(self, index: int, grade: Grade) -> None:
        if not 0 <= index < len(self.slots) or self.slots[index].outcome not in GRADED_OUTCOMES:
            raise InterviewError(f"question {index + 1} has no submitted answer to grade")
        self.slots[index].grade = grade

    def needing_grades(self) -> list[int]:
        return [i for i, s in enumerate(self.slots) if s.needs_grade]

    # -- saving and restoring -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "settings": self.settings.to_dict(), "phase": self.phase,
                "current": self.current, "draft": self.draft, "question_elapsed": round(self.question_elapsed, 3),
                "slots": [s.to_dict() for s in self.slots]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], clock: Clock, followup: FollowupChooser | None = None) -> "Interview":
        """Restore a saved interview; one that was running comes back suspended (time off the clock)."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise InterviewError(f"interview state: expected a dict with version {STATE_VERSION}")
        try:
            interview = cls(InterviewSettings.from_dict(data["settings"]),
                            [Slot.from_dict(s) for s in data["slots"]], clock, followup)
            phase, current = str(data["phase"]), int(data["current"])
            interview._elapsed_before = float(data.get("question_elapsed", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise InterviewError(f"interview state: missing or invalid field ({exc!r})") from exc
        if phase not in ("ready", "finished", "abandoned", *RUNNING_PHASES):
            raise InterviewError(f"interview state: unknown phase {phase!r}")
        if not 0 <= current <= len(interview.slots):
            raise InterviewError(f"interview state: current question {current} is out of range")
        interview.phase = "suspended" if phase in RUNNING_PHASES else phase
        interview.current = current
        interview.draft = str(data.get("draft", ""))
        return interview

    # -- internals ----------------------------------------------------------------------------------
    def _require(self, *phases: str) -> None:
        if self.phase not in phases:
            raise InterviewError(f"cannot do that while the interview is {self.phase} (needs {' or '.join(phases)})")

    def _begin_segment(self) -> None:
        self.phase = "answering"
        self._segment_start = self.clock()

    def _end_segment(self) -> None:
        self._elapsed_before = self.question_elapsed
        self._segment_start = None

    def _submit(self, outcome: str, text: str, seconds: float | None = None) -> Submission:
        slot = self.slots[self.current]
        slot.outcome, slot.answer = outcome, text
        slot.seconds = self.question_elapsed if seconds is None else seconds
        submission = Submission(self.current, slot.question_id, text, slot.seconds, outcome)
        self.draft, self._elapsed_before, self._segment_start = "", 0.0, None
        self._insert_followup(self.current, slot)
        self.current += 1
        self._skip_spent_stages()
        if self.current >= len(self.slots):
            self.phase = "finished"
        elif self.settings.mode == "coached":
            self.phase = "between"
        else:
            self._begin_segment()
        return submission

    def _insert_followup(self, index: int, slot: Slot) -> None:
        """A follow-up right after an answered question, chosen by the hook without waiting for any grade."""
        if not (self.settings.followups and self.followup and slot.kind == "question"
                and slot.outcome in GRADED_OUTCOMES and slot.answer.strip()):
            return
        found = self.followup(index, slot)
        if found is not None:
            found.parent, found.limit = index, found.limit or float(self.settings.followup_seconds)
            self.slots.insert(index + 1, found)

    def _skip_spent_stages(self) -> None:
        """Stages of a round whose time has run out are not answered; the thread goes on after the round."""
        while self.current < len(self.slots):
            slot = self.slots[self.current]
            if slot.kind != "stage" or slot.outcome or self.round_remaining(slot.round_id) > 0:
                return
            slot.outcome = "not answered"
            self.current += 1

    def _close(self, phase: str) -> list[Submission]:
        if self.finished:
            return []
        submitted = []
        slot = self.current_slot
        if slot is not None and not slot.outcome:
            if self.draft.strip():
                submitted.append(self._submit("answered", self.draft))
            else:
                slot.outcome, slot.seconds = "not answered", self.question_elapsed
        for rest in self.slots:
            if not rest.outcome:
                rest.outcome = "not answered"
        self.phase, self.current, self.draft = phase, len(self.slots), ""
        self._elapsed_before, self._segment_start = 0.0, None
        return submitted
