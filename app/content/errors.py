"""A content problem that names the file and line it was found at."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContentError:
    file: str
    line: int
    message: str
    blocking: bool = True  # False: a quality rule `content check` enforces but compiling tolerates

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentInvalid(Exception):
    """Raised when content cannot be compiled; carries every problem found."""

    def __init__(self, errors: list[ContentError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
