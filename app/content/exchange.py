"""Import and export of questions and notes as one JSON document (format in README.md)."""
from __future__ import annotations

import json
from pathlib import Path

from app.content.load import ContentSet, load_content
from app.content.notes import NOTE_ID, parse_note
from app.content.questions import validate_question
from app.core.model import Question


class ImportRefused(Exception):
    """The file is not importable; nothing was written. The message lists every problem."""


def export_content(content: ContentSet) -> dict:
    return {"format": "interview-coach/1",
            "notes": [{"id": n.id, "title": n.title, "related": list(n.related), "body": n.body}
                      for n in content.notes.values()],
            "questions": [q.to_dict() for q in content.questions]}


def import_content(path: Path, root: Path) -> tuple[int, int]:
    """Validate the whole file against itself and the existing content, then write it; all or nothing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ImportRefused(f"{path}: the top level must be an object with 'questions' and/or 'notes'")
    existing = load_content(root, with_labels=False)
    problems: list[str] = []
    notes = data.get("notes", []) or []
    questions_in = data.get("questions", []) or []
    note_files: dict[str, str] = {}
    for n, note in enumerate(notes):
        where = f"{path}: notes[{n}]"
        if not isinstance(note, dict) or not NOTE_ID.match(str(note.get("id", ""))) or not note.get("title") \
                or not isinstance(note.get("body"), str):
            problems.append(f"{where}: needs 'id' (lowercase, digits, '-'), 'title' and 'body'")
            continue
        if note["id"] in existing.notes:
            problems.append(f"{where}: note {note['id']!r} already exists")
            continue
        note_files[note["id"]] = _note_text(note)
    new_note_ids = set(note_files)
    questions: list[Question] = []
    for n, item in enumerate(questions_in):
        where = f"{path}: questions[{n}]"
        question, errors = validate_question(item)
        problems += [f"{where}: {message}" for _, message in errors]
        if question is None:
            continue
        if question.id in {q.id for q in existing.questions} | {q.id for q in questions}:
            problems.append(f"{where}: question id {question.id!r} already exists")
        if question.topic not in existing.notes and question.topic not in new_note_ids:
            problems.append(f"{where}: topic {question.topic!r} is not a note id")
        for ref in question.notes:
            if not (existing.resolves(ref) or ref.split("#")[0] in new_note_ids):
                problems.append(f"{where}: cited note or section {ref!r} does not resolve")
        questions.append(question)
    if problems:
        raise ImportRefused("nothing was imported:\n" + "\n".join(problems))
    _write(root, note_files, questions)
    return len(note_files), len(questions)


def _note_text(note: dict) -> str:
    related = ", ".join(note.get("related", []) or [])
    return f"---\nid: {note['id']}\ntitle: {note['title']}\nrelated: {related}\n---\n{note['body'].rstrip()}\n"


def _write(root: Path, note_files: dict[str, str], questions: list[Question]) -> None:
    for note_id, text in note_files.items():
        path = root / "notes" / f"{note_id}.md"
        path.write_text(text, encoding="utf-8")
        _, errors = parse_note(path, str(path))
        if errors:
            path.unlink()
            raise ImportRefused("nothing more was imported; " + "; ".join(str(e) for e in errors))
    by_topic: dict[str, list[Question]] = {}
    for question in questions:
        by_topic.setdefault(question.topic, []).append(question)
    for topic, items in by_topic.items():
        path = root / "questions" / f"{topic}.toml"
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(existing + ("\n" if existing else "") + "\n".join(_toml(q) for q in items), encoding="utf-8")


def _toml(q: Question) -> str:
    s = json.dumps  # a JSON string is a valid TOML basic string
    lines = ["[[question]]", f"id = {s(q.id)}", f"difficulty = {s(q.difficulty)}", f"prompt = {s(q.prompt)}",
             f"correct = {s(q.correct)}", f"rationale = {s(q.rationale)}", f"notes = {s(list(q.notes))}", ""]
    for option in q.options:
        lines += ["[[question.options]]", f"id = {s(option.id)}", f"label = {s(option.label)}",
                  f"aliases = {s(list(option.aliases))}", ""]
    for table, points in (("key_points", q.key_points), ("misconceptions", q.misconceptions)):
        for point in points:
            lines += [f"[[question.{table}]]", f"id = {s(point.id)}", f"text = {s(point.text)}",
                      f"alternatives = {s(list(point.alternatives))}", ""]
    return "\n".join(lines)
