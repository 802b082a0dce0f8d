"""Model files on disk: listing GGUFs, checking their header, verifying known sha256 sums."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from app.llm.catalog import BY_FILENAME, KnownModel

GGUF_MAGIC = b"GGUF"
EMBED_SUBDIR = "embed"


class ModelFileError(Exception):
    """A model file that must not be loaded; the message says why in plain words."""


@dataclass(frozen=True)
class ModelFile:
    path: Path
    known: KnownModel | None

    @property
    def label(self) -> str:
        size = self.path.stat().st_size / 1e6 if self.path.exists() else 0
        return f"{self.known.description if self.known else self.path.name} ({size:,.0f} MB)"


def list_models(models_dir: Path) -> list[ModelFile]:
    """Chat models in models/ (the embedding model's folder is not listed)."""
    if not models_dir.is_dir():
        return []
    return [ModelFile(p, BY_FILENAME.get(p.name)) for p in sorted(models_dir.glob("*.gguf"))]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def check_gguf_header(path: Path) -> None:
    """Refuse a file that is missing or not GGUF (reads 4 bytes)."""
    if not path.is_file():
        raise ModelFileError(f"The model file {path} does not exist.")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"{path.name} is not a GGUF model file (its header is wrong); it was not loaded.")


def check_model_file(path: Path) -> str:
    """Refuse a file that is missing, not GGUF, or a known model whose sha256 differs.

    Returns the file's sha256 (cached by size and mtime in models/.verified.json)."""
    check_gguf_header(path)
    digest = _cached_sha(path)
    known = BY_FILENAME.get(path.name)
    if known and digest != known.sha256:
        raise ModelFileError(
            f"{path.name} does not match its published sha256 (expected {known.sha256[:12]}..., got {digest[:12]}...). "
            "It may be corrupt or tampered with, so it was not loaded. Run `python -m app setup-models` to rebuild it.")
    return digest


def known_sha(path: Path) -> str:
    """The file's sha256 if it is already known (published, or computed before for this size and mtime), else ""
    (never reads the file: a window must not wait for a gigabyte to hash)."""
    known = BY_FILENAME.get(path.name)
    if known:
        return known.sha256
    try:
        stat = path.stat()
        cache = json.loads((path.parent / ".verified.json").read_text())
    except (OSError, ValueError):
        return ""
    return str(cache.get(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}", "")) if isinstance(cache, dict) else ""


def _cached_sha(path: Path) -> str:
    cache_path = path.parent / ".verified.json"
    stat = path.stat()
    key = f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    digest = sha256_of(path)
    cache = {k: v for k, v in cache.items() if not k.startswith(path.name + ":")}
    cache[key] = digest
    try:
        cache_path.write_text(json.dumps(cache, indent=1))
    except OSError:
        pass
    return digest


def embed_model_path(models_dir: Path) -> Path | None:
    found = sorted((models_dir / EMBED_SUBDIR).glob("*.gguf")) if (models_dir / EMBED_SUBDIR).is_dir() else []
    return found[0] if found else None
