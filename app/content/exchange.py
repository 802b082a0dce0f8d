"""Import and export of questions and notes as one JSON document (format in README.md)."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
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
    taken = {q.id for q in existing.questions}
    sections = existing.section_ids()
    for n, item in enumerate(questions_in):
        where = f"{path}: questions[{n}]"
        question, errors = validate_question(item)
        problems += [f"{where}: {message}" for _, message in errors]
        if question is None:
            continue
        if question.id in taken:
            problems.append(f"{where}: question id {question.id!r} already exists")
        taken.add(question.id)
        if question.topic not in existing.notes and question.topic not in new_note_ids:
            problems.append(f"{where}: topic {question.topic!r} is not a note id")
        for ref in question.notes:
            if not (ref in (sections if "#" in ref else existing.notes) or ref.split("#")[0] in new_note_ids):
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
    """Write every file into a staging copy of content/ first and check that each new part reads back there; only
    then move the files into place. A refusal leaves content/ exactly as it was."""
    by_topic: dict[str, list[Question]] = {}
    for question in questions:
        by_topic.setdefault(question.topic, []).append(question)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".import-") as staging:
        stage = Path(staging)
        for folder in ("notes", "questions"):
            shutil.copytree(root / folder, stage / folder)
        written, problems = [], []
        for note_id, text in note_files.items():
            written.append(Path("notes") / f"{note_id}.md")
            (stage / written[-1]).write_text(text, encoding="utf-8")
            problems += [str(e) for e in parse_note(stage / written[-1], str(written[-1]))[1] if e.blocking]
        for topic, items in by_topic.items():
            written.append(Path("questions") / f"{topic}.toml")
            target = stage / written[-1]
            blocks = [_toml(q) for q in items]
            problems += _read_back(written[-1], blocks, items)
            added = "\n".join(blocks)
            existing = target.read_text(encoding="utf-8") if target.exists() else ""
            target.write_text(existing + ("\n" if existing else "") + added, encoding="utf-8")
        if problems:
            raise ImportRefused("nothing was imported:\n" + "\n".join(problems[:20]))
        for relative in written:
            os.replace(stage / relative, root / relative)


READ_BACK = 200  # questions parsed back per file: toml_string is total over str, this catches a regression of it


def _read_back(relative: Path, blocks: list[str], items: list[Question]) -> list[str]:
    """Parse back an even sample of the written questions (parsing 50,000 back would take most of a minute)."""
    step = max(1, len(blocks) // READ_BACK)
    sample = list(range(0, len(blocks), step))
    try:
        back = tomllib.loads("\n".join(blocks[i] for i in sample))["question"]
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        return [f"{relative}: the questions would not read back ({exc})"]
    if [Question.from_dict(dict(b, topic=items[i].topic)) for b, i in zip(back, sample)] != [items[i] for i in sample]:
        return [f"{relative}: the questions would not read back as written"]
    return []


TOML_SPECIAL = re.compile(r'["\\\x00-\x1f\x7f]')
TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string for any Unicode text: characters as they are, quotes, backslashes and control characters
    escaped (json.dumps would write an emoji as a surrogate pair, which TOML refuses)."""
    return '"' + TOML_SPECIAL.sub(lambda m: TOML_ESCAPES.get(m.group(0), f"\\u{ord(m.group(0)):04X}"), text) + '"'


def _toml_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_string(str(v)) for v in value) + "]"
    return toml_string(str(value))


def _toml(q: Question) -> str:
    s = _toml_value
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
