"""Loads all of content/ into memory and checks every cross-reference; names file and line."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from app.content import giveaways
from app.content.errors import ContentError
from app.content.notes import note_links, parse_note, word_count
from app.content.open_items import parse_design_file, parse_followup_file
from app.content.questions import parse_question_file
from app.core.jsonl import jsonl_rows
from app.core.model import Note, Question
from app.core.open_items import DesignRound, Followup

MIN_QUESTIONS_PER_NOTE = 3
MIN_NOTE_WORDS = 400
FOLLOWUPS_NEEDED = {"hard": 2, "medium": 1, "easy": 0}
MAX_FOLLOWUPS = 3
# A question short of its follow-ups (2 for hard, 1 for medium) fails `content check`; False would only warn.
FOLLOWUP_COVERAGE_REQUIRED = True


@dataclass
class ContentSet:
    root: Path
    notes: dict[str, Note] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    queries: list[dict] = field(default_factory=list)
    errors: list[ContentError] = field(default_factory=list)
    question_lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    followups: list[Followup] = field(default_factory=list)
    followup_lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    designs: list[DesignRound] = field(default_factory=list)
    warnings: list[ContentError] = field(default_factory=list)  # printed by `content check`, never failing it

    def section_ids(self) -> set[str]:
        return {s.id for note in self.notes.values() for s in note.sections}

    def resolves(self, ref: str) -> bool:
        return ref in self.notes if "#" not in ref else ref in self.section_ids()


def content_files(root: Path) -> list[Path]:
    return sorted(p for pattern in ("notes/*.md", "questions/*.toml", "followups/*.toml", "design/*.toml") for p in root.glob(pattern))


def content_hash(root: Path) -> str:
    """Hash of every file the bank is compiled from (names and bytes)."""
    digest = hashlib.sha256()
    for path in content_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_content(root: Path, with_labels: bool = True) -> ContentSet:
    content = ContentSet(root)
    for path in sorted((root / "notes").glob("*.md")):
        note, errors = parse_note(path, _rel(root, path))
        content.errors += errors
        if note:
            content.notes[note.id] = note
    for path in sorted((root / "questions").glob("*.toml")):
        questions, errors, positions = parse_question_file(path, _rel(root, path))
        content.errors += errors
        content.question_lines.update({qid: (_rel(root, path), line) for qid, line in positions.items()})
        content.questions += questions
    for path in sorted((root / "followups").glob("*.toml")):
        followups, errors, positions = parse_followup_file(path, _rel(root, path))
        content.errors += errors
        content.followup_lines.update({fid: (_rel(root, path), line) for fid, line in positions.items()})
        content.followups += followups
    for path in sorted((root / "design").glob("*.toml")):
        design, errors = parse_design_file(path, _rel(root, path))
        content.errors += errors
        if design:
            content.designs.append(design)
    if with_labels:
        content.answers = _read_jsonl(root / "answers", content)
        content.queries = _read_jsonl(root / "queries", content)
    content.errors += _cross_check(content)
    return content


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _read_jsonl(folder: Path, content: ContentSet) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, row, error in jsonl_rows(path):
            if error:
                content.errors.append(ContentError(_rel(content.root, path), number, error))
                continue
            rows.append(dict(row, _file=_rel(content.root, path), _line=number))
    return rows


def _cross_check(content: ContentSet) -> list[ContentError]:
    errors: list[ContentError] = []
    for note in content.notes.values():
        if word_count(note) < MIN_NOTE_WORDS:
            errors.append(ContentError(note.source, 1, f"note {note.id!r} has {word_count(note)} words; at least "
                                       f"{MIN_NOTE_WORDS} needed", False))
        for ref in note.related:
            if ref not in content.notes:
                errors.append(ContentError(note.source, note.related_line, f"related note {ref!r} does not exist"))
        for line, target in note_links(note):
            if not content.resolves(target):
                errors.append(ContentError(note.source, line, f"link to {target!r} does not resolve"))
    seen: dict[str, Question] = {}
    uses: Counter[str] = Counter()
    for q in content.questions:
        where, line = content.question_lines.get(q.id, (f"questions/{q.topic}.toml", 1))
        if q.id in seen:
            errors.append(ContentError(where, line, f"question id {q.id!r} is used twice"))
        seen[q.id] = q
        if q.topic not in content.notes:
            errors.append(ContentError(where, line, f"question {q.id!r}: topic {q.topic!r} has no note"))
        for ref in q.notes:
            if not content.resolves(ref):
                errors.append(ContentError(where, line, f"question {q.id!r}: cited note or section {ref!r} does not resolve"))
        errors += _bank_rules(q, where, line)
        uses.update({ref.split("#")[0] for ref in q.notes})
    errors += [ContentError("questions", 1, problem, False) for problem in giveaways.problems(content.questions)]
    for note in content.notes.values():
        if uses[note.id] < MIN_QUESTIONS_PER_NOTE:
            errors.append(ContentError(note.source, 1, f"note {note.id!r} is cited by {uses[note.id]} questions; at least {MIN_QUESTIONS_PER_NOTE} needed", False))
    errors += _check_answers(content, seen)
    errors += _check_followups(content, seen)
    errors += _check_designs(content)
    for row in content.queries:
        for ref in row.get("relevant", []):
            if not content.resolves(ref):
                errors.append(ContentError(row["_file"], row["_line"], f"relevant section {ref!r} does not resolve"))
        if not row.get("query") or not row.get("relevant"):
            errors.append(ContentError(row["_file"], row["_line"], "a query needs 'query' and a non-empty 'relevant'"))
    return errors


def _bank_rules(q: Question, where: str, line: int) -> list[ContentError]:
    """Richer rules for our own bank than for imported questions: aliases and paraphrases."""
    errors = []
    for option in q.options:
        if len(option.aliases) < 2:
            errors.append(ContentError(where, line, f"question {q.id!r}: option {option.id!r} needs at least 2 aliases", False))
    for point in q.key_points:
        if len(point.alternatives) < 2:
            errors.append(ContentError(where, line, f"question {q.id!r}: key point {point.id!r} needs at least 2 alternatives", False))
    for option in q.options:
        if option.id != q.correct and not option.why_not:
            errors.append(ContentError(where, line, f"question {q.id!r}: wrong option {option.id!r} needs a 'why_not' "
                                       "(why it loses in this scenario)", False))
    for point in q.misconceptions:
        if not point.correction:
            errors.append(ContentError(where, line, f"question {q.id!r}: misconception {point.id!r} needs a "
                                       "'correction' (what is true instead)", False))
    return errors


def _check_followups(content: ContentSet, questions: dict[str, Question]) -> list[ContentError]:
    errors, seen = [], set()
    for f in content.followups:
        where, line = content.followup_lines.get(f.id, (f"followups/{f.topic}.toml", 1))
        if f.id in seen:
            errors.append(ContentError(where, line, f"follow-up id {f.id!r} is used twice"))
        seen.add(f.id)
        q = questions.get(f.question)
        if q is None:
            errors.append(ContentError(where, line, f"follow-up {f.id!r}: question {f.question!r} is not in the bank"))
        elif q.topic != f.topic:
            errors.append(ContentError(where, line, f"follow-up {f.id!r}: question {f.question!r} is in topic "
                                                    f"{q.topic!r}; put it in followups/{q.topic}.toml"))
        for ref in f.notes:
            if not content.resolves(ref):
                errors.append(ContentError(where, _line_of(content, where, ref, line), f"follow-up {f.id!r}: cited note or section {ref!r} "
                                                        "does not resolve"))
    counts = followup_counts(content)
    for q in content.questions:
        have, need = counts.get(q.id, 0), FOLLOWUPS_NEEDED.get(q.difficulty, 0)
        if have > MAX_FOLLOWUPS:
            where, line = content.question_lines.get(q.id, (f"questions/{q.topic}.toml", 1))
            errors.append(ContentError(where, line, f"question {q.id!r} has {have} follow-ups; at most "
                                                    f"{MAX_FOLLOWUPS}", False))
        if have < need:
            where, line = content.question_lines.get(q.id, (f"questions/{q.topic}.toml", 1))
            problem = ContentError(where, line, f"{q.difficulty} question {q.id!r} has {have} follow-up(s); "
                                                f"{need} needed", False)
            (errors if FOLLOWUP_COVERAGE_REQUIRED else content.warnings).append(problem)
    return errors


def _line_of(content: ContentSet, where: str, text: str, start: int = 1) -> int:
    """The first line at or after start that quotes text (a note reference), else start."""
    path = content.root.parent / where
    if not path.exists():
        return start
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return next((n for n in range(start, len(lines) + 1) if f'"{text}"' in lines[n - 1]), start)


def followup_counts(content: ContentSet) -> Counter[str]:
    return Counter(f.question for f in content.followups)


def _check_designs(content: ContentSet) -> list[ContentError]:
    errors, seen = [], set()
    for d in content.designs:
        where = _rel(content.root, content.root / "design" / f"{d.id}.toml")
        if d.id in seen:
            errors.append(ContentError(where, 1, f"design round id {d.id!r} is used twice"))
        seen.add(d.id)
        if d.topic not in content.notes:
            errors.append(ContentError(where, 1, f"design round {d.id!r}: topic {d.topic!r} has no note"))
        refs = [(None, r) for r in d.notes] + [(s.id, r) for s in d.stages for r in s.notes]
        for stage, ref in refs:
            if not content.resolves(ref):
                part = f" stage {stage!r}" if stage else ""
                errors.append(ContentError(where, _line_of(content, where, ref), f"design round {d.id!r}{part}: cited note or section {ref!r} "
                                                     "does not resolve"))
    return errors


def _check_answers(content: ContentSet, questions: dict[str, Question]) -> list[ContentError]:
    errors = []
    for row in content.answers:
        where = (row["_file"], row["_line"])
        q = questions.get(str(row.get("question")))
        label = row.get("label") or {}
        if q is None:
            errors.append(ContentError(*where, f"question {row.get('question')!r} is not in the bank"))
            continue
        if not isinstance(row.get("answer"), str):
            errors.append(ContentError(*where, "field 'answer' must be a string"))
        if label.get("choice") != "none" and q.option(str(label.get("choice"))) is None:
            errors.append(ContentError(*where, f"label.choice {label.get('choice')!r} is not an option of {q.id}"))
        if label.get("verdict") not in ("correct", "partial", "incorrect"):
            errors.append(ContentError(*where, f"label.verdict {label.get('verdict')!r} is not correct/partial/incorrect"))
        known = {p.id for p in q.key_points}
        for kp in label.get("key_points", []):
            if kp not in known:
                errors.append(ContentError(*where, f"label.key_points names {kp!r}, not a key point of {q.id}"))
    return errors


def summary(content: ContentSet) -> str:
    words = sum(word_count(n) for n in content.notes.values())
    lines = [f"notes: {len(content.notes)} ({words} words)", f"questions: {len(content.questions)}"]
    per_topic: dict[str, Counter] = {}
    for q in content.questions:
        per_topic.setdefault(q.topic, Counter())[q.difficulty] += 1
    for topic in sorted(per_topic):
        c = per_topic[topic]
        lines.append(f"  {topic:22} easy {c['easy']}  medium {c['medium']}  hard {c['hard']}")
    kinds = Counter(row.get("kind", "?") for row in content.answers)
    verdicts = Counter((row.get("label") or {}).get("verdict", "?") for row in content.answers)
    answered = len({row.get("question") for row in content.answers})
    lines.append(f"labelled answers: {len(content.answers)} over {answered} questions")
    lines.append("  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    lines.append("  by verdict: " + ", ".join(f"{k} {n}" for k, n in sorted(verdicts.items())))
    lines.append(giveaways.report(content.questions))
    counts = followup_counts(content)
    by_difficulty: Counter[str] = Counter()
    short: Counter[str] = Counter()
    for q in content.questions:
        by_difficulty[q.difficulty] += counts.get(q.id, 0)
        short[q.difficulty] += counts.get(q.id, 0) < FOLLOWUPS_NEEDED.get(q.difficulty, 0)
    lines.append(f"follow-ups: {len(content.followups)}; by question difficulty: " + ", ".join(
        f"{d} {by_difficulty[d]} ({short[d]} questions short)" for d in ("hard", "medium", "easy")))
    lines.append(f"design rounds: {len(content.designs)}")
    lines.append(f"retrieval queries: {len(content.queries)} ({sum(1 for q in content.queries if q.get('blind'))} blind)")
    return "\n".join(lines)
