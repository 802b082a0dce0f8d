"""The parts of an interview thread that need the bank: choosing a follow-up the moment an answer is submitted (an
authored follow-up, else a probe from a key point the rubric did not find; never waiting for a model), a design
round's stage slots, and turning any slot's item id back into something the grader takes."""
from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

from app.core.interview import InterviewError, InterviewSettings, Slot
from app.core.model import Question
from app.core.open_items import DesignRound, Followup, probe_for
from app.core.rubric import rubric_signals

PROBE_MARK = "-probe-"
FOLLOWUP_ID = re.compile(r"-f[0-9]+$")


def is_open_item(item_id: str) -> bool:
    """A follow-up, probe or design stage id (bank question ids are '<note-id>-<nnn>')."""
    return PROBE_MARK in item_id or ":" in item_id or bool(FOLLOWUP_ID.search(item_id))


def point_card_target(item_id: str, point_id: str) -> tuple[str, str]:
    """Whose key point a point of an open item is: a probe's is its question's (or follow-up's, or stage's)."""
    if PROBE_MARK in item_id:
        parent, _, probed = item_id.rpartition(PROBE_MARK)
        return parent, probed
    return item_id, point_id


def choose_followup(question: Question, answer: str, authored: Sequence[Followup],
                    rng: random.Random | None = None) -> Slot | None:
    """An authored follow-up of the question if it has one, else a probe on the first key point the rubric's word
    reading did not find in the answer (milliseconds, no model, no embeddings), else none."""
    if authored:
        chosen = (rng or random).choice(list(authored))
        return Slot(chosen.id, question.topic, question.difficulty, kind="followup", prompt=chosen.prompt)
    signals = rubric_signals(question, answer, None)
    missed = next((p.id for p in signals.key_points if not p.made), None)
    if missed is None:
        return None
    probe = probe_for(question, missed)
    return Slot(probe.id, question.topic, question.difficulty, kind="probe", prompt=probe.prompt)


def design_slots(design: DesignRound, minutes: int = 0) -> list[Slot]:
    """One slot per stage; every stage's limit is the round's total (what is left of it when the stage begins)."""
    total = 60.0 * (minutes or design.minutes)
    scale = total / (60.0 * design.minutes) if design.minutes else 1.0
    return [Slot(f"{design.id}:{stage.id}", design.topic, "design", kind="stage", prompt=stage.prompt, limit=total,
                 round_id=design.id, suggested=60.0 * stage.minutes * scale) for stage in design.stages]


def pick_design(designs: Sequence[DesignRound], settings: InterviewSettings,
                rng: random.Random | None = None) -> DesignRound | None:
    """The round the settings ask for: a named one, or one picked (from the chosen topics when there are some)."""
    if not settings.design_round:
        return None
    if settings.design_round != "any":
        found = next((d for d in designs if d.id == settings.design_round), None)
        if found is None:
            raise InterviewError(f"there is no design round {settings.design_round!r} in the bank")
        return found
    pool = [d for d in designs if not settings.topics or d.topic in settings.topics] or list(designs)
    if not pool:
        raise InterviewError("the bank has no design rounds yet")
    return (rng or random).choice(pool)


def resolve_item(item_id: str, questions: Mapping[str, Question], followups: Mapping[str, Followup],
                 designs: Mapping[str, DesignRound]) -> Question | None:
    """What a slot's id names, in the grader's shape: a question, a follow-up, a probe or a design stage."""
    if item_id in questions:
        return questions[item_id]
    if item_id in followups:
        return followups[item_id].as_question()
    if PROBE_MARK in item_id:
        parent_id, _, point_id = item_id.rpartition(PROBE_MARK)
        parent = resolve_item(parent_id, questions, followups, designs)
        if parent is not None and any(p.id == point_id for p in parent.key_points):
            return probe_for(parent, point_id)
        return None
    round_id, _, stage_id = item_id.partition(":")
    design = designs.get(round_id)
    return design.stage_question(stage_id) if design is not None and design.stage(stage_id) else None
