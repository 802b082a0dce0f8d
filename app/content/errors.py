"""A content problem that names the file and line it was found at."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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


def read_text(path: Path, rel: str) -> tuple[str | None, ContentError | None]:
    """A source file's text, or the problem that names its file, line and byte when it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, ContentError(rel, line, f"byte {exc.start} (column {column}) is not valid UTF-8 "
                                             f"(0x{data[exc.start]:02x}); save the file as UTF-8")
