"""Parses the question bank source (TOML, one file per topic) and validates question objects."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from app.content.errors import ContentError, read_text
from app.core.model import DIFFICULTIES, Question

OPTION_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def parse_question_file(path: Path, rel: str) -> tuple[list[Question], list[ContentError], dict[str, int]]:
    """Questions, problems, and the line each question starts at (by question id)."""
    text, problem = read_text(path, rel)
    if problem:
        return [], [problem], {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        return [], [ContentError(rel, int(match.group(1)) if match else 1, f"not valid TOML: {exc}")], {}
    items = data.get("question")
    if not isinstance(items, list) or not items:
        return [], [ContentError(rel, 1, "no [[question]] tables found")], {}
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == "[[question]]"]
    lines = text.splitlines()
    questions, errors, positions = [], [], {}
    for index, item in enumerate(items):
        start = starts[index] if index < len(starts) else 1
        end = starts[index + 1] if index + 1 < len(starts) else len(lines) + 1

        def locate(field: str, start=start, end=end) -> int:
            for number in range(start, end):
                if re.match(rf"\s*(\[\[question\.)?{re.escape(field)}\b", lines[number - 1]):
                    return number
            return start

        item = dict(item, topic=item.get("topic", path.stem))
        question, problems = validate_question(item, locate)
        errors.extend(ContentError(rel, line, message) for line, message in problems)
        if question:
            questions.append(question)
            positions[question.id] = start
    return questions, errors, positions


def validate_question(item: Any, locate=lambda field: 1) -> tuple[Question | None, list[tuple[int, str]]]:
    """Check one question object; problems are (line, message) pairs, the message naming the field."""
    if not isinstance(item, dict):
        return None, [(1, "a question must be an object")]
    qid = item.get("id")
    label = f"question {qid!r}" if qid else "question"
    problems: list[tuple[int, str]] = []

    def need(field: str, kind: type) -> Any:
        value = item.get(field)
        if not isinstance(value, kind) or (isinstance(value, (str, list)) and not value):
            problems.append((locate(field), f"{label}: field '{field}' is missing or empty"))
            return None
        return value

    for field in ("id", "topic", "prompt", "correct", "rationale"):
        need(field, str)
    difficulty = item.get("difficulty")
    if difficulty not in DIFFICULTIES:
        problems.append((locate("difficulty"), f"{label}: field 'difficulty' must be one of {', '.join(DIFFICULTIES)}, not {difficulty!r}"))
    options = need("options", list) or []
    if options and not 2 <= len(options) <= 4:
        problems.append((locate("options"), f"{label}: 'options' must have 2-4 entries, has {len(options)}"))
    option_ids = []
    for n, option in enumerate(options, start=1):
        if not isinstance(option, dict) or not option.get("id") or not option.get("label"):
            problems.append((locate("options"), f"{label}: option {n} needs an 'id' and a 'label'"))
            continue
        if not OPTION_ID.match(str(option["id"])):
            problems.append((locate("options"), f"{label}: option id {option['id']!r} must be lowercase letters, digits and '-'"))
        if not isinstance(option.get("aliases", []), list):
            problems.append((locate("options"), f"{label}: option {option['id']!r} field 'aliases' must be a list"))
        option_ids.append(option["id"])
    if len(set(option_ids)) != len(option_ids):
        problems.append((locate("options"), f"{label}: option ids repeat: {option_ids}"))
    if item.get("correct") and option_ids and item["correct"] not in option_ids:
        problems.append((locate("correct"), f"{label}: 'correct' is {item['correct']!r}, which is not an option id ({', '.join(option_ids)})"))
    points = need("key_points", list) or []
    if points and not 3 <= len(points) <= 5:
        problems.append((locate("key_points"), f"{label}: 'key_points' must have 3-5 entries, has {len(points)}"))
    problems += _check_points(points, "key_points", label, locate)
    problems += _check_points(item.get("misconceptions", []) or [], "misconceptions", label, locate)
    notes = item.get("notes")
    if not isinstance(notes, list) or not notes or not all(isinstance(n, str) and n for n in notes):
        problems.append((locate("notes"), f"{label}: field 'notes' must list at least one note id or note-id#section"))
    if problems:
        return None, problems
    return Question.from_dict(item), []


def _check_points(points: Any, field: str, label: str, locate) -> list[tuple[int, str]]:
    if not isinstance(points, list):
        return [(locate(field), f"{label}: '{field}' must be a list")]
    problems = []
    ids = []
    for n, point in enumerate(points, start=1):
        if not isinstance(point, dict) or not point.get("id") or not point.get("text"):
            problems.append((locate(field), f"{label}: {field} entry {n} needs an 'id' and a 'text'"))
            continue
        ids.append(point["id"])
        alternatives = point.get("alternatives", [])
        if not isinstance(alternatives, list) or not all(isinstance(a, str) for a in alternatives):
            problems.append((locate(field), f"{label}: {field} {point['id']!r} field 'alternatives' must be a list of strings"))
    if len(set(ids)) != len(ids):
        problems.append((locate(field), f"{label}: {field} ids repeat: {ids}"))
    return problems
