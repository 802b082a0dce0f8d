"""Parses and validates follow-ups (content/followups/<note-id>.toml) and design rounds (content/design/<id>.toml);
every problem names the file, the line of the field and the field."""
from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.content.errors import ContentError, read_text
from app.core.open_items import FOLLOWUP_KINDS, STAGE_IDS, DesignRound, Followup

KEY_POINT_ID = re.compile(r"^kp[0-9]+$")
MISTAKE_ID = re.compile(r"^m[0-9]+$")
FOLLOWUP_ID = re.compile(r"^(?P<question>[a-z0-9]+(-[a-z0-9]+)*)-f[0-9]+$")
ROUND_ID = re.compile(r"^design(-[a-z0-9]+)+$")
Problems = list[tuple[int, str, bool]]  # (line, message, blocking)


def _load(path: Path, rel: str) -> tuple[dict | None, list[str], list[ContentError]]:
    text, problem = read_text(path, rel)
    if problem:
        return None, [], [problem]
    try:
        return tomllib.loads(text), text.splitlines(), []
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        return None, [], [ContentError(rel, int(match.group(1)) if match else 1, f"not valid TOML: {exc}")]


def _locator(lines: list[str], start: int, end: int, table: str) -> Callable[..., int]:
    """The line of a field inside lines[start-1:end-1]: 'field =' or a '[[table.field]]' header."""
    def locate(field: str, entry_id: str | None = None) -> int:
        """With entry_id: the 'id = ...' line of that entry of a [[table.field]] list."""
        found = start
        for number in range(start, end):
            if re.match(rf"\s*(\[\[{re.escape(table)}\.)?{re.escape(field)}\b", lines[number - 1]):
                found = number
                break
        if entry_id is not None:
            for number in range(found, end):
                if re.match(rf"\s*id\s*=\s*[\"']{re.escape(entry_id)}[\"']", lines[number - 1]):
                    return number
        return found
    return locate


def _starts(lines: list[str], header: str) -> list[int]:
    return [i + 1 for i, line in enumerate(lines) if line.strip() == header]


def parse_followup_file(path: Path, rel: str) -> tuple[list[Followup], list[ContentError], dict[str, int]]:
    """Follow-ups, problems, and the line each follow-up starts at (by id)."""
    data, lines, errors = _load(path, rel)
    if data is None:
        return [], errors, {}
    items = data.get("followup")
    if not isinstance(items, list) or not items:
        return [], [ContentError(rel, 1, "no [[followup]] tables found")], {}
    starts = _starts(lines, "[[followup]]")
    followups, positions = [], {}
    for index, item in enumerate(items):
        start = starts[index] if index < len(starts) else 1
        end = starts[index + 1] if index + 1 < len(starts) else len(lines) + 1
        followup, problems = validate_followup(item, _locator(lines, start, end, "followup"), path.stem)
        errors += [ContentError(rel, line, message, blocking) for line, message, blocking in problems]
        if followup:
            followups.append(followup)
            positions[followup.id] = start
    return followups, errors, positions


def validate_followup(item: Any, locate: Callable[..., int] = lambda field, entry=None: 1,
                      topic: str = "") -> tuple[Followup | None, Problems]:
    if not isinstance(item, dict):
        return None, [(1, "a follow-up must be a table", True)]
    label = f"follow-up {item['id']!r}" if item.get("id") else "follow-up"
    problems: Problems = []
    for field in ("id", "question", "kind", "prompt", "answer"):
        if not isinstance(item.get(field), str) or not item[field].strip():
            problems.append((locate(field), f"{label}: field '{field}' is missing or empty", True))
    match = FOLLOWUP_ID.match(str(item.get("id", "")))
    if item.get("id") and not match:
        problems.append((locate("id"), f"{label}: id must be '<question id>-f<n>'", True))
    elif match and item.get("question") and match.group("question") != item["question"]:
        problems.append((locate("id"), f"{label}: id must start with its question id {item['question']!r}", True))
    if item.get("kind") and item["kind"] not in FOLLOWUP_KINDS:
        problems.append((locate("kind"), (f"{label}: field 'kind' must be one of {', '.join(FOLLOWUP_KINDS)}, "
                                         f"not {item['kind']!r}"), True))
    problems += _notes(item, label, locate)
    problems += _points(item.get("key_points"), "key_points", KEY_POINT_ID, (2, 4), 2, label, locate)
    problems += _points(item.get("misconceptions", []), "misconceptions", MISTAKE_ID, (0, 3), 1, label, locate,
                        corrected=True)
    if any(blocking for _, _, blocking in problems):
        return None, problems
    return Followup.from_dict(dict(item, topic=topic)), problems


def parse_design_file(path: Path, rel: str) -> tuple[DesignRound | None, list[ContentError]]:
    data, lines, errors = _load(path, rel)
    if data is None:
        return None, errors
    locate = _locator(lines, 1, (_starts(lines, "[[stage]]") or [len(lines) + 1])[0], "")
    design, problems = validate_design(data, locate, path.stem, _stage_locators(lines))
    return design, errors + [ContentError(rel, line, message, blocking) for line, message, blocking in problems]


def _stage_locators(lines: list[str]) -> list[Callable[..., int]]:
    starts = _starts(lines, "[[stage]]")
    ends = starts[1:] + [len(lines) + 1]
    return [_locator(lines, s, e, "stage") for s, e in zip(starts, ends)]


def validate_design(data: Any, locate: Callable[..., int] = lambda field, entry=None: 1, file_id: str | None = None,
                    stage_locators: list[Callable[..., int]] | None = None) -> tuple[DesignRound | None, Problems]:
    if not isinstance(data, dict):
        return None, [(1, "a design round must be a table", True)]
    label = f"design round {data['id']!r}" if data.get("id") else "design round"
    problems: Problems = []
    for field in ("id", "title", "topic", "prompt"):
        if not isinstance(data.get(field), str) or not data[field].strip():
            problems.append((locate(field), f"{label}: field '{field}' is missing or empty", True))
    rid = data.get("id")
    if isinstance(rid, str) and rid and not ROUND_ID.match(rid):
        problems.append((locate("id"), f"{label}: id must start with 'design-' (lowercase letters, digits, '-')", True))
    if file_id is not None and rid and rid != file_id:
        problems.append((locate("id"), f"{label}: id must equal the file name without .toml ({file_id!r})", True))
    minutes = data.get("minutes", 30)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        problems.append((locate("minutes"), f"{label}: field 'minutes' must be a positive whole number", True))
    problems += _notes(data, label, locate)
    stages = data.get("stage")
    ids = [s.get("id") for s in stages if isinstance(s, dict)] if isinstance(stages, list) else []
    if tuple(ids) != STAGE_IDS:
        problems.append((locate("stage"), (f"{label}: needs exactly the five [[stage]] tables "
                                          f"{', '.join(STAGE_IDS)} in that order; found {ids or 'none'}"), True))
    stage_minutes = 0
    for n, stage in enumerate(stages if isinstance(stages, list) else []):
        where = (stage_locators or [])[n] if n < len(stage_locators or []) else locate
        problems += _stage(stage, f"{label} stage {stage.get('id', n + 1)!r}" if isinstance(stage, dict) else label,
                           where)
        stage_minutes += stage.get("minutes", 0) if isinstance(stage, dict) and isinstance(stage.get("minutes"), int) else 0
    if isinstance(minutes, int) and tuple(ids) == STAGE_IDS and stage_minutes != minutes:
        problems.append((locate("minutes"), (f"{label}: the stages' minutes add up to {stage_minutes}, "
                                            f"not the round's {minutes}"), False))
    if any(blocking for _, _, blocking in problems):
        return None, problems
    return DesignRound.from_dict(data), problems


def _stage(stage: Any, label: str, locate: Callable[..., int]) -> Problems:
    if not isinstance(stage, dict):
        return [(locate("stage"), f"{label}: a stage must be a table", True)]
    problems: Problems = []
    for field in ("id", "title", "prompt", "strong"):
        if not isinstance(stage.get(field), str) or not stage[field].strip():
            problems.append((locate(field), f"{label}: field '{field}' is missing or empty", True))
    if not isinstance(stage.get("minutes"), int) or isinstance(stage.get("minutes"), bool) or stage["minutes"] <= 0:
        problems.append((locate("minutes"), f"{label}: field 'minutes' must be a positive whole number", True))
    if stage.get("notes", []) != []:  # optional per stage; the round's notes always apply
        problems += _notes(stage, label, locate)
    problems += _points(stage.get("key_points"), "key_points", KEY_POINT_ID, (3, 5), 2, label, locate)
    problems += _points(stage.get("mistakes"), "mistakes", MISTAKE_ID, (1, 3), 1, label, locate, corrected=True)
    return problems


def _notes(item: dict, label: str, locate: Callable[..., int]) -> Problems:
    notes = item.get("notes")
    if not isinstance(notes, list) or not notes or not all(isinstance(n, str) and n for n in notes):
        return [(locate("notes"), f"{label}: field 'notes' must list at least one note id or note-id#section", True)]
    return []


def _points(points: Any, field: str, pattern: re.Pattern, count: tuple[int, int], min_alternatives: int, label: str,
            locate: Callable[..., int], corrected: bool = False) -> Problems:
    """Ids, counts and paraphrases of key points or misconceptions/mistakes. Counts and ids block (the grader and
    stored grades rely on them); missing paraphrases or corrections are quality rules `content check` enforces."""
    if points is None:
        points = []
    if not isinstance(points, list):
        return [(locate(field), f"{label}: '{field}' must be a list of tables", True)]
    low, high = count
    problems: Problems = []
    if not low <= len(points) <= high:
        problems.append((locate(field), f"{label}: '{field}' must have {low}-{high} entries, has {len(points)}", True))
    ids = []
    for n, point in enumerate(points, start=1):
        if not isinstance(point, dict) or not point.get("id") or not isinstance(point.get("text"), str) \
                or not point["text"].strip():
            problems.append((locate(field), f"{label}: {field} entry {n} needs an 'id' and a 'text'", True))
            continue
        pid = str(point["id"])
        ids.append(pid)
        if not pattern.match(pid):
            kind = "kp1, kp2" if pattern is KEY_POINT_ID else "m1, m2"
            problems.append((locate(field, pid), f"{label}: {field} id {pid!r} is not valid (use {kind}, ...)", True))
        alternatives = point.get("alternatives", [])
        if not isinstance(alternatives, list) or not all(isinstance(a, str) for a in alternatives):
            problems.append((locate(field, pid), f"{label}: {field} {pid!r} field 'alternatives' must be a list of strings",
                             True))
        elif len(alternatives) < min_alternatives:
            problems.append((locate(field, pid), (f"{label}: {field} {pid!r} needs at least {min_alternatives} "
                                            f"alternative(s), has {len(alternatives)}"), False))
        if corrected and not (isinstance(point.get("correction"), str) and point["correction"].strip()):
            problems.append((locate(field, pid), f"{label}: {field} {pid!r} needs a 'correction'", False))
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problems.append((locate(field), f"{label}: {field} ids repeat: {', '.join(repeated)}", True))
    return problems
