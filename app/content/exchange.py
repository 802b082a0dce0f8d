"""Import and export of notes, questions, follow-ups and design rounds as one JSON document (format in README.md)."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import NamedTuple

from app.content.load import ContentSet, load_content
from app.content.notes import NOTE_ID, parse_note
from app.content.open_items import (
    parse_design_file,
    parse_followup_file,
    validate_design,
    validate_followup,
)
from app.content.questions import validate_question
from app.core.model import Question
from app.core.open_items import DesignRound, Followup


class ImportRefused(Exception):
    """The file is not importable; nothing was written. The message lists every problem."""


class Imported(NamedTuple):
    notes: int
    questions: int
    followups: int = 0
    designs: int = 0


def export_content(content: ContentSet) -> dict:
    return {"format": "interview-coach/1",
            "notes": [{"id": n.id, "title": n.title, "related": list(n.related), "body": n.body}
                      for n in content.notes.values()],
            "questions": [q.to_dict() for q in content.questions],
            "followups": [_without_topic(f.to_dict()) for f in content.followups],
            "design_rounds": [d.to_dict() for d in content.designs]}


def _without_topic(data: dict) -> dict:
    """A follow-up's topic is its question's; the file it lands in says so."""
    data.pop("topic", None)
    return data


def import_content(path: Path, root: Path) -> Imported:
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
    topics = {q.id: q.topic for q in (*existing.questions, *questions)}

    def resolves(ref: str) -> bool:
        return ref in (sections if "#" in ref else existing.notes) or ref.split("#")[0] in new_note_ids
    followups = _import_followups(data.get("followups", []) or [], existing, topics, resolves, path, problems)
    designs = _import_designs(data.get("design_rounds", []) or [], existing, new_note_ids, resolves, path, problems)
    if problems:
        raise ImportRefused("nothing was imported:\n" + "\n".join(problems))
    _write(root, note_files, questions, followups, designs)
    return Imported(len(note_files), len(questions), len(followups), len(designs))


def _import_followups(items: list, existing: ContentSet, topics: dict[str, str], resolves, path: Path,
                      problems: list[str]) -> list[Followup]:
    taken = {f.id for f in existing.followups}
    found = []
    for n, item in enumerate(items):
        where = f"{path}: followups[{n}]"
        topic = topics.get(str(item.get("question"))) if isinstance(item, dict) else None
        followup, errors = validate_followup(item, topic=topic or "")
        problems += [f"{where}: {message}" for _, message, blocking in errors if blocking]
        if followup is None:
            continue
        if topic is None:
            problems.append(f"{where}: question {followup.question!r} is not in the bank or the file")
        if followup.id in taken:
            problems.append(f"{where}: follow-up id {followup.id!r} already exists")
        taken.add(followup.id)
        problems += [f"{where}: cited note or section {ref!r} does not resolve" for ref in followup.notes
                     if not resolves(ref)]
        found.append(followup)
    return found


def _import_designs(items: list, existing: ContentSet, new_note_ids: set[str], resolves, path: Path,
                    problems: list[str]) -> list[DesignRound]:
    taken = {d.id for d in existing.designs}
    found = []
    for n, item in enumerate(items):
        where = f"{path}: design_rounds[{n}]"
        design, errors = validate_design(item)
        problems += [f"{where}: {message}" for _, message, blocking in errors if blocking]
        if design is None:
            continue
        if design.id in taken:
            problems.append(f"{where}: design round id {design.id!r} already exists")
        taken.add(design.id)
        if design.topic not in existing.notes and design.topic not in new_note_ids:
            problems.append(f"{where}: topic {design.topic!r} is not a note id")
        refs = [*design.notes, *(r for s in design.stages for r in s.notes)]
        problems += [f"{where}: cited note or section {ref!r} does not resolve" for ref in refs if not resolves(ref)]
        found.append(design)
    return found


def _note_text(note: dict) -> str:
    related = ", ".join(note.get("related", []) or [])
    return f"---\nid: {note['id']}\ntitle: {note['title']}\nrelated: {related}\n---\n{note['body'].rstrip()}\n"


def _write(root: Path, note_files: dict[str, str], questions: list[Question], followups: list[Followup] = (),
           designs: list[DesignRound] = ()) -> None:
    """Write every file into a staging copy of content/ first and check that each new part reads back there; only
    then move the files into place. A refusal leaves content/ exactly as it was."""
    by_topic: dict[str, list[Question]] = {}
    for question in questions:
        by_topic.setdefault(question.topic, []).append(question)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".import-") as staging:
        stage = Path(staging)
        for folder in ("notes", "questions", "followups", "design"):
            if (root / folder).is_dir():
                shutil.copytree(root / folder, stage / folder)
            (stage / folder).mkdir(exist_ok=True)
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
        written += _write_open_items(stage, followups, designs, problems)
        if problems:
            raise ImportRefused("nothing was imported:\n" + "\n".join(problems[:20]))
        for relative in written:
            (root / relative).parent.mkdir(exist_ok=True)
            os.replace(stage / relative, root / relative)


def _write_open_items(stage: Path, followups: list[Followup], designs: list[DesignRound],
                      problems: list[str]) -> list[Path]:
    """Append follow-ups to followups/<topic>.toml and write each design round to design/<id>.toml; each file must
    read back to exactly what was imported."""
    written = []
    by_topic: dict[str, list[Followup]] = {}
    for followup in followups:
        by_topic.setdefault(followup.topic, []).append(followup)
    for topic, items in by_topic.items():
        relative = Path("followups") / f"{topic}.toml"
        target = stage / relative
        existing = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(existing + ("\n" if existing else "") + "\n".join(followup_toml(f) for f in items),
                          encoding="utf-8")
        back = {f.id: f for f in parse_followup_file(target, str(relative))[0]}
        if any(back.get(f.id) != f for f in items):
            problems.append(f"{relative}: the follow-ups would not read back as written")
        written.append(relative)
    for design in designs:
        relative = Path("design") / f"{design.id}.toml"
        (stage / relative).write_text(design_toml(design), encoding="utf-8")
        if parse_design_file(stage / relative, str(relative))[0] != design:
            problems.append(f"{relative}: the design round would not read back as written")
        written.append(relative)
    return written


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
                  f"aliases = {s(list(option.aliases))}"]
        lines += [f"why_not = {s(option.why_not)}", ""] if option.why_not else [""]
    lines += _points_toml("question.key_points", q.key_points)
    lines += _points_toml("question.misconceptions", q.misconceptions)
    return "\n".join(lines)


def _points_toml(table: str, points) -> list[str]:
    s = _toml_value
    lines = []
    for point in points:
        lines += [f"[[{table}]]", f"id = {s(point.id)}", f"text = {s(point.text)}",
                  f"alternatives = {s(list(point.alternatives))}"]
        if point.correction:
            lines.append(f"correction = {s(point.correction)}")
        lines.append("")
    return lines


def followup_toml(f: Followup) -> str:
    s = _toml_value
    lines = ["[[followup]]", f"id = {s(f.id)}", f"question = {s(f.question)}", f"kind = {s(f.kind)}",
             f"prompt = {s(f.prompt)}", f"answer = {s(f.answer)}", f"notes = {s(list(f.notes))}", ""]
    return "\n".join(lines + _points_toml("followup.key_points", f.key_points)
                     + _points_toml("followup.misconceptions", f.misconceptions))


def design_toml(d: DesignRound) -> str:
    s = _toml_value
    lines = [f"id = {s(d.id)}", f"title = {s(d.title)}", f"topic = {s(d.topic)}", f"minutes = {d.minutes}",
             f"prompt = {s(d.prompt)}", f"notes = {s(list(d.notes))}", ""]
    for stage in d.stages:
        lines += ["[[stage]]", f"id = {s(stage.id)}", f"title = {s(stage.title)}", f"prompt = {s(stage.prompt)}",
                  f"minutes = {stage.minutes}", f"strong = {s(stage.strong)}"]
        if stage.notes:
            lines.append(f"notes = {s(list(stage.notes))}")
        lines.append("")
        lines += _points_toml("stage.key_points", stage.key_points) + _points_toml("stage.mistakes", stage.mistakes)
    return "\n".join(lines)
