"""`python -m app soak --kills N`: starts the real window with a robot that types and answers (app/ui/soak_robot.py),
kills it with SIGKILL at a random moment, N times, and reports what each kill lost: submitted answers missing from
user.db, seconds of typing missing from the saved draft, SQLite's integrity check; then one last start must grade
every answer the kills left ungraded."""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app import paths
from app.llm.catalog import MODELS, TEST_MODEL

CHAR_SECONDS = 0.2   # the robot's typing speed (60 words a minute)
TYPING_BUDGET_S = 2.0


def run_soak(kills: int, seed: int, model: str | None, keep: Path | None) -> int:
    rng = random.Random(seed)
    folder = keep or Path(tempfile.mkdtemp(prefix="coach-soak-"))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    journal = folder / "journal.jsonl"
    model = model if model is not None else _test_model()
    if model:
        from app.storage.userdb import open_user_db, set_setting
        set_setting(open_user_db(data / "user.db"), "model_path", model)
    print(f"soak: {kills} kills, seed {seed}, grading with {Path(model).name if model else 'the rubric only'}; "
          f"files in {folder}")
    rounds = []
    for number in range(kills):
        start = journal.stat().st_size if journal.exists() else 0
        process = _launch(data, journal, seed * 1000 + number, finish=False)
        time.sleep(rng.uniform(3.0, 25.0))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        rounds.append(_check_round(data, _events(journal, start)))
        r = rounds[-1]
        print(f"  kill {number + 1:3}: {r['submitted']} submitted, {r['lost']} lost; typing lost {r['typing_s']:.1f} s; "
              f"integrity {r['integrity']}")
    left = _pending(data)
    finished = _finish(data, journal)
    submitted = sum(r["submitted"] for r in rounds)
    lost = sum(r["lost"] for r in rounds)
    worst = max((r["typing_s"] for r in rounds), default=0.0)
    intact = sum(r["integrity"] == "ok" for r in rounds)
    print(f"soak: {kills} kills; {submitted} answers submitted, {lost} lost; most typing lost in one kill "
          f"{worst:.1f} s (budget {TYPING_BUDGET_S:.0f} s); integrity ok after {intact} of {kills}; "
          f"answers the kills left ungraded: {left}, still ungraded after a normal start: {finished}")
    ok = lost == 0 and worst <= TYPING_BUDGET_S + CHAR_SECONDS and intact == kills and finished == 0
    return 0 if ok else 1


def _test_model() -> str | None:
    path = paths.models_dir() / MODELS[TEST_MODEL].filename
    return str(path) if path.is_file() else None


def _launch(data: Path, journal: Path, seed: int, finish: bool) -> subprocess.Popen:
    env = dict(os.environ, COACH_DATA_DIR=str(data), COACH_SOAK_JOURNAL=str(journal), COACH_SOAK_SEED=str(seed),
               COACH_SOAK_FINISH="1" if finish else "0", QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([sys.executable, "-m", "app.ui.soak_robot"], cwd=str(paths.REPO_ROOT), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _events(journal: Path, start: int) -> list[dict]:
    if not journal.exists():
        return []
    with journal.open("rb") as handle:
        handle.seek(start)
        return [json.loads(line) for line in handle.read().decode("utf-8").splitlines() if line.strip()]


def _check_round(data: Path, events: list[dict]) -> dict:
    conn = sqlite3.connect(data / "user.db")
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        lost = sum(1 for e in events if e["event"] == "submitted" and not _stored(conn, e))
        typing_s = _typing_lost(conn, events)
    finally:
        conn.close()
    return {"submitted": sum(e["event"] == "submitted" for e in events), "lost": lost, "typing_s": typing_s,
            "integrity": integrity}


def _stored(conn: sqlite3.Connection, event: dict) -> bool:
    where = event["where"]
    if where[0] == "practice":
        return conn.execute("SELECT 1 FROM attempts WHERE question_id = ? AND answer = ? AND mode = 'practice'",
                            [where[1], event["answer"]]).fetchone() is not None
    row = conn.execute("SELECT answer FROM interview_answers WHERE interview_id = ? AND position = ?",
                       [where[1], where[2]]).fetchone()
    return row is not None and row[0].startswith(event["answer"].rstrip("."))


def _typing_lost(conn: sqlite3.Connection, events: list[dict]) -> float:
    """Seconds of typing between the last saved draft and the kill, for the answer being typed then."""
    if not events or events[-1]["event"] != "typed":
        return 0.0
    where, count = events[-1]["where"], events[-1]["count"]
    key = where[1] if where[0] == "practice" else f"interview:{where[1]}:{where[2]}"
    row = conn.execute("SELECT text FROM drafts WHERE question_id = ?", [key]).fetchone()
    saved = len(row[0]) if row else 0
    return max(0, count - saved) * CHAR_SECONDS


def _finish(data: Path, journal: Path, timeout: float = 300.0) -> int:
    """One normal start: it must grade every answer the kills left ungraded. Returns how many are still pending."""
    process = _launch(data, journal, 0, finish=True)
    deadline = time.monotonic() + timeout
    pending = None
    while time.monotonic() < deadline:
        time.sleep(2.0)
        pending = _pending(data)
        if pending == 0:
            break
    process.terminate()
    process.wait()
    return pending if pending is not None else _pending(data)


def _pending(data: Path) -> int:
    conn = sqlite3.connect(data / "user.db")
    try:
        return conn.execute("SELECT count(*) FROM attempts WHERE verdict = 'pending'").fetchone()[0]
    finally:
        conn.close()
