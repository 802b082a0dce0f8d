"""FSRS scheduling through the `fsrs` package: cards as plain dicts, replayed from their review logs."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

import fsrs

DEFAULT_RETENTION = 0.9
MIN_RETENTION, MAX_RETENTION = 0.7, 0.97
RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
DAY = 86400.0
MONTH_DAYS = 30.44


def scheduler(retention: float = DEFAULT_RETENTION) -> fsrs.Scheduler:
    """Day-based steps (no minute-long learning steps) and no fuzz, so replaying a history is exact."""
    if not MIN_RETENTION <= retention <= MAX_RETENTION:
        raise ValueError(f"desired retention must be between {MIN_RETENTION} and {MAX_RETENTION}, got {retention}")
    return fsrs.Scheduler(desired_retention=retention, learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


def new_card(created_at: float) -> dict:
    """A card never reviewed: due at once."""
    return fsrs.Card(card_id=1, due=utc(created_at)).to_dict()


def is_due(card: dict, now: float) -> bool:
    return fsrs.Card.from_dict(card).due <= utc(now)


def due_at(card: dict) -> float:
    return fsrs.Card.from_dict(card).due.timestamp()


def replay(reviews: Iterable[tuple[float, int]], created_at: float, retention: float = DEFAULT_RETENTION) -> dict:
    """The card after these (reviewed_at, rating) reviews, in time order, under this retention."""
    logs = [fsrs.ReviewLog(card_id=1, rating=fsrs.Rating(rating), review_datetime=utc(at), review_duration=None)
            for at, rating in reviews]
    card = fsrs.Card(card_id=1, due=utc(created_at))
    return scheduler(retention).reschedule_card(card, logs).to_dict()


def retrievability(card: dict, now: float, retention: float = DEFAULT_RETENTION) -> float | None:
    """The probability of recalling the card now; None for a card never reviewed."""
    parsed = fsrs.Card.from_dict(card)
    if parsed.last_review is None:
        return None
    return float(scheduler(retention).get_card_retrievability(parsed, utc(now)))


def preview_intervals(earlier: Iterable[tuple[float, int]], created_at: float, at: float,
                      retention: float = DEFAULT_RETENTION) -> dict[int, float]:
    """Seconds until the card comes due again if it were reviewed at `at` with each rating, after the earlier
    (reviewed_at, rating) reviews; nothing is stored."""
    card = fsrs.Card.from_dict(replay(earlier, created_at, retention))
    chosen = scheduler(retention)
    # whole seconds: the float round trip through datetime made a one-day interval 86399.99999 s, printed '<1d'
    return {rating: round(chosen.review_card(card, fsrs.Rating(rating), utc(at))[0].due.timestamp() - at)
            for rating in RATINGS}


def interval_text(seconds: float) -> str:
    """An interval the way Anki prints it on its buttons: <1d, 1d, 12d, 3mo, 1.2y."""
    days = seconds / DAY
    if days < 1:
        return "<1d"
    if days < 30.5:
        return f"{round(days)}d"
    if days < 365:
        return f"{round(days / MONTH_DAYS)}mo"
    return f"{days / 365:.1f}y"
