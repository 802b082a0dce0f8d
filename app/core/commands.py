"""The command palette's items (notes, sections, topics, questions, actions) and how typed text ranks them."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.core.model import Note, Question

KINDS = ("Action", "Note", "Section", "Topic", "Question")  # also the order of equally good matches
TITLE_CHARS = 90


@dataclass(frozen=True)
class Command:
    kind: str     # one of KINDS: the palette shows it so a note and a section of the same name differ
    title: str
    detail: str   # where it lives (a section's note and parents, a question's id and topic) or an action's keys
    target: str   # what running it opens: a note or section id, a topic id, a question id, an action id


def build_commands(notes: Iterable[Note], questions: Iterable[Question], topics: Iterable[tuple[str, str]],
                   actions: Iterable[tuple[str, str, str]]) -> list[Command]:
    """Every item the palette offers; `actions` are (id, title, keys) from the window's shortcut table."""
    notes = list(notes)
    titles = {note.id: note.title for note in notes}
    items = [Command("Action", title, keys, action_id) for action_id, title, keys in actions]
    items += [Command("Note", note.title, note.id, note.id) for note in notes]
    items += [Command("Topic", f"Practise {title}", topic_id, topic_id) for topic_id, title in topics]
    items += [Command("Section", section.heading, section.path.rsplit(" > ", 1)[0], section.id)
              for note in notes for section in note.sections]
    items += [Command("Question", question_title(q), f"{q.id} · {titles.get(q.topic, q.topic)} · {q.difficulty}",
                      q.id) for q in questions]
    return items


def question_title(question: Question) -> str:
    """The prompt's opening words on one line: enough to recognise the scenario in a list."""
    text = " ".join(question.prompt.split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS].rsplit(" ", 1)[0] + "..."


def rank(commands: list[Command], text: str) -> list[Command]:
    """The commands that contain every typed word (any case), best first; all of them, in order, for no words."""
    words = text.lower().split()
    if not words:
        return list(commands)
    scored = []
    for position, command in enumerate(commands):
        score = _score(command, words, text.strip().lower())
        if score is not None:
            scored.append((score, KINDS.index(command.kind), position, command))
    return [command for *_, command in sorted(scored, key=lambda s: s[:3])]


def _score(command: Command, words: list[str], whole: str) -> int | None:
    """Lower is better: a word at the start of the title beats one inside a title word, which beats one at the start
    of the detail, which beats one inside it. None when some word is missing."""
    title = command.title.lower()
    title_words = re.findall(r"[a-z0-9]+", title)
    rest = f"{command.detail} {command.target} {command.kind}".lower()
    score = 0
    for word in words:
        if title.startswith(word):
            continue
        if any(w.startswith(word) for w in title_words):
            score += 1
        elif word in title:
            score += 2
        elif rest.startswith(word):
            score += 3  # the detail begins with it (a section of the note named so)
        elif word in rest:
            score += 4
        else:
            return None
    if whole in (title, command.target.lower()):
        score -= 10  # the exact name or id typed out: that item and nothing before it
    return score
