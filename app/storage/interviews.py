"""Mock interviews in the user database: live state, each answer as it is submitted, drafts and history."""
from __future__ import annotations

import json
import time
from typing import Any

from sqlite_utils import Database

from app.storage import history
from app.storage.userdb import load_draft, save_draft

GRADED_VERDICTS = ("correct", "partial", "incorrect")


def draft_key(interview_id: int, position: int) -> str:
    """Interview drafts share the drafts table but never a practice draft's key."""
    return f"interview:{interview_id}:{position}"


def create_interview(db: Database, settings: dict[str, Any], state: dict[str, Any], started_at: float) -> int:
    with db.atomic():
        table = db["interviews"].insert({
            "started_at": started_at, "updated_at": started_at, "finished_at": None, "status": "running",
            "settings_json": json.dumps(settings), "state_json": json.dumps(state), "score": None,
            "question_count": len(state.get("slots", [])), "report_md": ""})
        return int(table.last_pk)


def save_state(db: Database, interview_id: int, state: dict[str, Any], **changes: Any) -> None:
    with db.atomic():
        db["interviews"].update(interview_id, {"state_json": json.dumps(state), "updated_at": time.time(), **changes})


def save_interview_draft(db: Database, interview_id: int, position: int, text: str, state: dict[str, Any]) -> None:
    with db.atomic():
        save_draft(db, draft_key(interview_id, position), text)
        save_state(db, interview_id, state)


def load_interview_draft(db: Database, interview_id: int, position: int) -> str:
    return load_draft(db, draft_key(interview_id, position))


def record_submission(db: Database, interview_id: int, state: dict[str, Any], submission: dict[str, Any],
                      attempt: dict[str, Any] | None) -> int | None:
    """In one transaction: the attempt (if any), the interview answer, the new state, and the draft cleared."""
    with db.atomic():
        attempt_id = int(db["attempts"].insert(attempt).last_pk) if attempt else None
        db["interview_answers"].upsert({"interview_id": interview_id, **submission, "attempt_id": attempt_id},
                                       pk=("interview_id", "position"))
        save_draft(db, draft_key(interview_id, submission["position"]), "")
        save_state(db, interview_id, state)
        return attempt_id


def record_grade(db: Database, interview_id: int, position: int, grade: dict[str, Any], state: dict[str, Any],
                 **changes: Any) -> None:
    """Store a grade in the interview state and on the answer's attempt, which logs the review as practice does
    (an interview answer to a question that was not due is crammed: logged, schedule unchanged)."""
    with db.atomic():
        rows = list(db["interview_answers"].rows_where("interview_id = ? and position = ?", [interview_id, position]))
        save_state(db, interview_id, state, **changes)
        if rows and rows[0]["attempt_id"] is not None:
            history.store_grade(db, rows[0]["attempt_id"], grade)


def close_interview(db: Database, interview_id: int, state: dict[str, Any], status: str, score: int,
                    report_md: str) -> None:
    save_state(db, interview_id, state, status=status, finished_at=time.time(), score=score, report_md=report_md)


def unfinished_interview(db: Database) -> dict[str, Any] | None:
    rows = list(db["interviews"].rows_where("status = 'running'", order_by="id desc", limit=1))
    return _decoded(rows[0]) if rows else None


def load_interview(db: Database, interview_id: int) -> dict[str, Any]:
    rows = list(db["interviews"].rows_where("id = ?", [interview_id]))
    if not rows:
        raise KeyError(f"no interview with id {interview_id} in the user database")
    return _decoded(rows[0])


def past_interviews(db: Database) -> list[dict[str, Any]]:
    return [_decoded(r) for r in db["interviews"].rows_where("status != 'running'", order_by="started_at desc")]


def interview_answers(db: Database, interview_id: int) -> list[dict[str, Any]]:
    return list(db["interview_answers"].rows_where("interview_id = ?", [interview_id], order_by="position"))


def graded_scores(db: Database) -> list[tuple[str, int]]:
    """(question id, score) of every graded attempt, oldest first: the history weak topics come from."""
    marks = ", ".join("?" for _ in GRADED_VERDICTS)
    rows = db.execute(f"select question_id, score from attempts where verdict in ({marks}) order by id",
                      list(GRADED_VERDICTS)).fetchall()
    return [(r[0], int(r[1] or 0)) for r in rows]


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its JSON decoded; an unreadable row keeps its text and says why in "error"."""
    try:
        return dict(row, settings=json.loads(row["settings_json"]), state=json.loads(row["state_json"]), error="")
    except (TypeError, ValueError) as exc:
        return dict(row, settings={}, state=None,
                    error=f"interview {row.get('id')} in the user database has unreadable JSON ({exc})")
