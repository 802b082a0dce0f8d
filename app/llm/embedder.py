"""The sentence-embedding model (all-MiniLM-L6-v2 as GGUF) behind a lock, usable from any thread.
It loads on first use (or on `load()`), so opening the library does not wait for llama_cpp."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Sequence

from app.llm.files import ModelFileError, check_gguf_header
from app.llm.loading import new_llama
from app.llm.run_settings import RunSettings


CACHE_LIMIT = 5000  # texts; the grader re-embeds the same key-point phrasings for every answer


class Embedder:
    def __init__(self, path: Path, settings: RunSettings | None = None):
        check_gguf_header(path)  # a missing or foreign file is refused now; llama.cpp reads it on first use
        self.path, self.settings = path, settings
        self.model_id = path.name
        self.llm = None
        self._lock = threading.Lock()
        self._cache: dict[str, list[float]] = {}
        self.caching = True  # benchmarks turn this off to time real embeddings

    def load(self) -> None:
        """Load the model now (the GUI calls this on a background thread once the window shows)."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        if self.llm is not None:
            return
        try:
            self.llm = new_llama(str(self.path), self.settings, embedding=True, pooling_type=1, n_ctx=512,
                                 n_batch=512, n_ubatch=512)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelFileError(f"llama.cpp could not load the embedding model {self.path.name}: {exc}") from exc

    def _embed(self, text: str) -> list[float]:
        # one text per call: llama-cpp-python's multi-text call measured 1.7-2.4x slower here, for 205 note chunks
        # (14.1 s against 7.8 s) and for 60 short sentences alike
        return self.llm.embed(text, normalize=True, truncate=True)

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed every text, no cache (the model process serves this; its parent keeps the cache)."""
        with self._lock:
            self._load()
            return [self._embed(t) for t in texts]

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length vectors; texts longer than the model's window are truncated."""
        with self._lock:
            self._load()
            embed = lambda todo: [self._embed(t) for t in todo]  # noqa: E731
            return cached(self._cache, texts, embed) if self.caching else embed(texts)


def cached(cache: dict[str, list[float]], texts: Sequence[str],
           embed: Callable[[list[str]], list[list[float]]]) -> list[list[float]]:
    """Vectors for the texts, embedding only those not in the cache (cleared past CACHE_LIMIT texts)."""
    missing = [t for t in dict.fromkeys(texts) if t not in cache]
    if missing:
        cache.update(zip(missing, embed(missing)))
    vectors = [cache[t] for t in texts]
    if len(cache) > CACHE_LIMIT:
        cache.clear()
    return vectors
