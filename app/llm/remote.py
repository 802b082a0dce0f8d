"""The chat model and the embedding model as seen from the app: the same calls as ChatEngine and Embedder, served
by a model process. A crash there raises ModelCrashed here; the next call starts a new process, with safer settings
after the second crash of the same settings (remembered per model file and CPU), and every start is self-checked."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from app.llm import selfcheck
from app.llm.embedder import cached
from app.llm.files import ModelFileError, check_gguf_header
from app.llm.engine import Cancelled
from app.llm.process import ModelCrashed, ModelProcess, death_reason
from app.llm.run_settings import RunSettings, SettingsMemory


EVALUATING = {"prime", "next_token_logprobs", "branch_logprobs", "stream", "embed"}


class ModelUnusable(ModelFileError):
    """The model crashed with every setting, or computes wrong numbers with every setting."""


class _Supervised:
    """Starts, restarts and stops one model process, and walks down the settings ladder after crashes."""
    kind = "chat"

    def __init__(self, path: Path, memory: SettingsMemory | None = None):
        check_gguf_header(path)
        self.path, self.name = path, path.name
        self.memory = memory or SettingsMemory()
        self.process: ModelProcess | None = None
        self.settings: RunSettings | None = None
        self.crash: ModelCrashed | None = None   # the last crash, until the caller has reported it
        self.notices: list[str] = []             # plain-words news for the user (safer settings in use, ...)
        self.proven = False
        self._cancel: threading.Event | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.alive

    def start(self) -> None:
        """(Re)start the process; on a crash while loading, go on down the ladder until a setting works."""
        self.stop()
        while True:
            settings = self.memory.settings_for(self.path)
            if settings is None:
                raise ModelUnusable(f"{self.name} crashed with every setting this app can try on this CPU "
                                    f"({self.memory.entry(self.path).get('last_crash', 'unknown')}); it is not used.")
            process = ModelProcess(self.kind, self.path, settings)
            try:
                info = process.start()
            except ModelCrashed as exc:
                self._note_crash(exc)
                continue
            problem = self._check(info)
            if problem is not None:
                process.stop()
                raise ModelUnusable(f"This llama.cpp build computes wrong results for {self.name} on this CPU "
                                    f"({problem}), so it is not used for grading.")
            self.process, self.settings = process, settings
            self.proven = False
            self._started(info)
            return

    def _check(self, info: dict) -> str | None:
        """What the start-up self-check found wrong, or None (each kind of model compares its own probe)."""
        return None

    def _started(self, info: dict) -> None:
        pass

    def _note_crash(self, crash: ModelCrashed) -> None:
        self.crash = crash
        fallback = self.memory.record_crash(self.path, crash.reason)
        if fallback.safer and fallback.settings is not None:
            self.notices.append(f"{crash} It crashed twice with the same settings, so it now runs with safer "
                                f"ones: {fallback.settings.describe()}.")

    def ensure_running(self) -> None:
        """Start the process if there is none; one that died between calls counts as a crash and is restarted."""
        if self.process is not None and not self.process.alive:
            self._note_crash(ModelCrashed(self.name, self.kind, death_reason(self.process.proc.returncode)))
            self.process = None
        if self.process is None:
            self.start()

    @contextmanager
    def cancelled_by(self, cancel: threading.Event):
        """Every call in the block (format and look-ups too, not only evaluations) ends when cancel is set."""
        self._cancel = cancel
        try:
            yield
        finally:
            self._cancel = None

    def call(self, method: str, *args, **kwargs):
        if kwargs.get("cancel") is None and self._cancel is not None:
            kwargs["cancel"] = self._cancel
        self.ensure_running()
        try:
            result = self.process.call(method, *args, **kwargs)
            if not self.proven and method in EVALUATING:
                # settings count as working once they survived a real evaluation (the AMX crash comes at the first)
                self.memory.record_working(self.path, self.settings)
                self.proven = True
            return result
        except ModelCrashed as crash:
            self._note_crash(crash)
            self.process = None
            raise
        except Cancelled:
            if not self.process.alive:
                self.process = None  # ended on purpose: it did not give up in time; the next call starts another
            raise

    def take_crash(self) -> ModelCrashed | None:
        crash, self.crash = self.crash, None
        return crash

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def kill(self) -> None:
        """End the process at once (tests use it as a stand-in for an out-of-memory kill)."""
        if self.process is not None and self.process.proc is not None:
            self.process.proc.kill()
            self.process.proc.wait()


class RemoteChatEngine(_Supervised):
    """The ChatEngine calls the grader uses, one model process behind them; one thread at a time."""
    kind = "chat"

    def __init__(self, path: Path, memory: SettingsMemory | None = None):
        super().__init__(path, memory)
        self._format = lru_cache(maxsize=256)(self._format_uncached)
        self._first = lru_cache(maxsize=256)(self._first_uncached)
        self.start()

    def _check(self, info: dict) -> str | None:
        return selfcheck.compare_chat(info["check"], selfcheck.CHAT_REFERENCES.get(self.name))

    def _started(self, info: dict) -> None:
        self.sha256, self.load_seconds = info["sha256"], info["load_seconds"]

    def _format_uncached(self, system: str, user: str) -> str:
        return self.call("format", system, user)

    def _first_uncached(self, text: str) -> int:
        return self.call("first_token", text)

    def format(self, system: str, user: str) -> str:
        return self._format(system, user)

    def first_token(self, text: str) -> int:
        return self._first(text)

    def tokens(self, text: str) -> list[int]:
        return self.call("tokens", text)

    def cached_tokens(self) -> int:
        return self.call("cached_tokens")

    def reset(self) -> None:
        self.call("reset")

    def prime(self, text: str, keep: str = "", stop: threading.Event | None = None) -> int:
        return self.call("prime", text, keep=keep, stop=stop)

    def next_token_logprobs(self, prompt: str, cancel: threading.Event | None = None) -> np.ndarray:
        return self.call("next_token_logprobs", prompt, cancel=cancel)

    def branch_logprobs(self, prompts: list[str], token_ids: list[int],
                        cancel: threading.Event | None = None) -> list[list[float]]:
        return self.call("branch_logprobs", prompts, token_ids, cancel=cancel)

    def stream(self, prompt: str, max_tokens: int, cancel: threading.Event | None = None,
               on_token: Callable[[str], None] | None = None, finish_after: int | None = None) -> str:
        return self.call("stream", prompt, max_tokens, finish_after=finish_after, cancel=cancel, on_token=on_token)


class RemoteEmbedder(_Supervised):
    """The Embedder's interface (callable on texts, cached here), served by a model process; any thread."""
    kind = "embed"

    def __init__(self, path: Path, memory: SettingsMemory | None = None):
        super().__init__(path, memory)
        self.model_id = path.name
        self._lock = threading.Lock()
        self._cache: dict[str, list[float]] = {}
        self.caching = True

    def _check(self, info: dict) -> str | None:
        return selfcheck.compare_embedder(info["check"], selfcheck.EMBED_REFERENCES.get(self.name))

    def load(self) -> None:
        with self._lock:
            self.ensure_running()

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            embed = lambda todo: self.call("embed", list(todo))  # noqa: E731
            return cached(self._cache, texts, embed) if self.caching else embed(texts)
