"""Parses concept notes: front matter, heading sections with stable ids, links to other notes."""
from __future__ import annotations

import re
from pathlib import Path

from app.content.errors import ContentError, read_text
from app.core.model import Note, Section

REQUIRED_SECTIONS = ("Definition", "How it works", "Decision guide", "Trade-offs",
                     "Common misconceptions", "In interviews", "Related notes")
NOTE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def parse_note(path: Path, rel: str) -> tuple[Note | None, list[ContentError]]:
    """Parse one note file; returns the note (or None) and the problems found."""
    text, problem = read_text(path, rel)
    if problem:
        return None, [problem]
    lines = text.splitlines()
    errors: list[ContentError] = []
    if not lines or lines[0].strip() != "---":
        return None, [ContentError(rel, 1, "missing front matter: the file must start with a '---' line")]
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        return None, [ContentError(rel, 1, "front matter is not closed by a '---' line")]
    meta: dict[str, str] = {}
    meta_lines: dict[str, int] = {}
    for i in range(1, end):
        key, sep, value = lines[i].partition(":")
        if not sep:
            errors.append(ContentError(rel, i + 1, f"front matter line is not 'key: value': {lines[i]!r}"))
            continue
        meta[key.strip()] = value.strip()
        meta_lines[key.strip()] = i + 1
    note_id = meta.get("id", "")
    if not note_id:
        errors.append(ContentError(rel, 1, "front matter has no 'id'"))
    elif note_id != path.stem:
        errors.append(ContentError(rel, 1, f"id {note_id!r} does not match the file name {path.stem!r}"))
    elif not NOTE_ID.match(note_id):
        errors.append(ContentError(rel, 1, f"id {note_id!r} must be lowercase letters, digits and '-'"))
    if not meta.get("title"):
        errors.append(ContentError(rel, 1, "front matter has no 'title'"))
    if errors:
        return None, errors
    body_start = end + 1
    sections, section_errors = _sections(note_id, meta["title"], lines, body_start, rel)
    errors.extend(section_errors)
    related = tuple(r.strip() for r in meta.get("related", "").split(",") if r.strip())
    body = "\n".join(lines[body_start:]).rstrip() + "\n"
    return Note(note_id, meta["title"], related, body, tuple(sections), rel, body_start + 1,
                meta_lines.get("related", 1)), errors


def _sections(note_id: str, title: str, lines: list[str], start: int, rel: str):
    errors: list[ContentError] = []
    sections: list[Section] = []
    titles = 0
    current: list | None = None  # [heading, level, line, path, body lines]
    parents: dict[int, str] = {}
    in_code = False

    def close() -> None:
        if current is not None:
            heading, level, line, path, body = current
            sections.append(Section(f"{note_id}#{slugify(heading)}", note_id, heading, path, level,
                                    "\n".join(body).strip(), line))

    for index in range(start, len(lines)):
        text = lines[index]
        if text.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else HEADING.match(text)
        if match and len(match.group(1)) == 1:
            titles += 1
            continue
        if match:
            close()
            level = len(match.group(1))
            heading = match.group(2)
            parents[level] = heading
            path = " > ".join([title] + [parents[lv] for lv in range(2, level + 1) if lv in parents])
            current = [heading, level, index + 1, path, []]
        elif current is not None:
            current[4].append(text)
    close()
    if titles != 1:
        errors.append(ContentError(rel, start + 1, f"expected exactly one '# Title' line, found {titles}"))
    seen: dict[str, int] = {}
    for section in sections:
        if section.id in seen:
            errors.append(ContentError(rel, section.line, f"heading {section.heading!r} repeats line {seen[section.id]}"))
        seen[section.id] = section.line
    top = [s.heading for s in sections if s.level == 2]
    positions = [top.index(name) if name in top else -1 for name in REQUIRED_SECTIONS]
    for name, pos in zip(REQUIRED_SECTIONS, positions):
        if pos < 0:
            errors.append(ContentError(rel, start + 1, f"missing required section '## {name}'"))
    found = [p for p in positions if p >= 0]
    if found != sorted(found):
        errors.append(ContentError(rel, start + 1, "required sections are out of order: " + ", ".join(REQUIRED_SECTIONS)))
    return sections, errors


def note_links(note: Note) -> list[tuple[int, str]]:
    """(line number, target) for every link to another note: 'note-id' or 'note-id#slug'."""
    links = []
    for number, text in enumerate(note.body.splitlines(), start=note.body_line):
        for target in LINK.findall(text):
            if "://" in target or target.startswith("mailto:"):
                continue
            file_part, _, anchor = target.partition("#")
            if file_part.endswith(".md"):
                ref = Path(file_part).stem
                links.append((number, f"{ref}#{anchor}" if anchor else ref))
            elif not file_part and anchor:
                links.append((number, f"{note.id}#{anchor}"))
    return links


def word_count(note: Note) -> int:
    return len(re.findall(r"[A-Za-z0-9][\w'-]*", note.body))
