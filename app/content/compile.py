"""Compiles content/ into the bank when its content hash changed; idempotent."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.content.errors import ContentInvalid
from app.content.load import content_hash, load_content
from app.storage.bank import bank_meta, write_bank


@dataclass
class CompileResult:
    compiled: bool
    content_hash: str
    notes: int = 0
    questions: int = 0


def compile_bank(db, content_root: Path, force: bool = False) -> CompileResult:
    """Rebuild the bank tables from content_root unless the stored hash already matches."""
    digest = content_hash(content_root)
    if not force and bank_meta(db, "content_hash") == digest:
        return CompileResult(False, digest)
    content = load_content(content_root, with_labels=False)
    blocking = [e for e in content.errors if e.blocking]
    if blocking:
        raise ContentInvalid(blocking)
    write_bank(db, list(content.notes.values()), content.questions, digest, content.followups, content.designs)
    return CompileResult(True, digest, len(content.notes), len(content.questions))
