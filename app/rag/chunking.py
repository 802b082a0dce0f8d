"""Splits notes into retrieval chunks by heading, keeping the heading path and stable ids."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

from app.core.model import Note

SKIPPED_HEADINGS = ("Related notes",)  # lists of links: they would only echo other notes' titles
MAX_WORDS = 220  # a long section is cut at paragraph ends into parts of about this size
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
TABLE_RULE = re.compile(r"^\s*\|?[-:| ]+\|?\s*$", re.M)
EMPHASIS = re.compile(r"(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)")  # *word*, not 2*3


@dataclass(frozen=True)
class Chunk:
    id: str          # note-id#slug, or note-id#slug~2 for later parts of a long section
    section_id: str  # what grades cite
    note_id: str
    heading: str
    path: str
    text: str

    @cached_property
    def search_text(self) -> str:
        """The text without Markdown syntax, for BM25 and the embedding."""
        return plain_text(self.text)

    @property
    def embed_text(self) -> str:
        return f"{self.path}\n{self.search_text}"

    @cached_property
    def digest(self) -> str:
        """Keys the stored vector, so it hashes exactly the text that was embedded."""
        return hashlib.sha256(self.embed_text.encode()).hexdigest()


def chunk_notes(notes: list[Note]) -> list[Chunk]:
    chunks = []
    for note in notes:
        for section in note.sections:
            if not section.text.strip() or section.heading in SKIPPED_HEADINGS:
                continue
            for n, part in enumerate(_split(section.text), start=1):
                chunk_id = section.id if n == 1 else f"{section.id}~{n}"
                chunks.append(Chunk(chunk_id, section.id, note.id, section.heading, section.path, part))
    return chunks


def plain_text(text: str) -> str:
    """Link targets ("chunking.md#definition"), table rules, pipes and emphasis marks out, words kept."""
    if "](" in text:
        text = LINK.sub(r"\1", text)
    if "|" in text:
        text = TABLE_RULE.sub("", text).replace("|", " ")
    text = text.replace("**", "").replace("`", "")
    if "*" in text:
        text = EMPHASIS.sub("", text)
    return text.strip()


def _split(text: str) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    parts, current, words = [], [], 0
    for paragraph in paragraphs:
        size = len(paragraph.split())
        if current and words + size > MAX_WORDS:
            parts.append("\n\n".join(current))
            current, words = [], 0
        current.append(paragraph)
        words += size
    if current:
        parts.append("\n\n".join(current))
    return parts
