"""The model process: `python -m app.llm.host FD` loads one chat or embedding model and serves requests from the
parent over the socket FD. A crash in llama.cpp ends this process only; the parent reports it and starts another.

Protocol (pickled tuples): parent -> child ("load", kind, path, settings), ("call", id, method, args, kwargs),
("cancel", id), ("ping", id), ("exit",); child -> parent ("ready", info) or ("failed", message), then per call any
number of ("token", id, piece) and ("pong", id, None) (answered by the reader thread even while llama.cpp computes),
and one of ("ok", id, result), ("cancelled", id, None), ("error", id, message)."""
from __future__ import annotations

import ctypes
import os
import queue
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

FAULT_ENV = "COACH_MODEL_FAULT"  # "<chat|embed>:<fault>", set only by the tests to make this process fail on purpose


def fault(kind: str, moment: str, settings) -> bool:
    """Whether the tests asked this process to fail at this moment: crash-on-load, crash-on-eval, or
    crash-unless-one-thread (crashes on the first evaluation until the safest settings are in use)."""
    wanted = os.environ.get(FAULT_ENV, "")
    if not wanted.startswith(kind + ":"):
        return False
    name = wanted.split(":", 1)[1]
    if name == "crash-unless-one-thread":
        return moment == "eval" and settings.threads != 1
    return name == f"crash-on-{moment}"


def segfault() -> None:
    ctypes.string_at(0)  # a real SIGSEGV in native code, as a llama.cpp crash would be


class ChatTarget:
    """The chat engine's operations the parent may call."""

    def __init__(self, engine, settings):
        self.engine, self.settings, self.evaluated = engine, settings, False

    def _eval_fault(self) -> None:
        if not self.evaluated and fault("chat", "eval", self.settings):
            segfault()
        self.evaluated = True

    def run(self, method: str, args, kwargs, event: threading.Event, on_token) -> Any:
        engine = self.engine
        if method in ("prime", "next_token_logprobs", "branch_logprobs", "stream"):
            self._eval_fault()
        if method == "prime":
            return engine.prime(*args, stop=event, **kwargs)
        if method == "next_token_logprobs":
            return engine.next_token_logprobs(*args, cancel=event, **kwargs)
        if method == "branch_logprobs":
            return engine.branch_logprobs(*args, cancel=event, **kwargs)
        if method == "stream":
            return engine.stream(*args, cancel=event, on_token=on_token, **kwargs)
        if method in ("format", "tokens", "first_token", "reset", "cached_tokens"):
            return getattr(engine, method)(*args, **kwargs)
        raise ValueError(f"unknown method {method!r}")


class EmbedTarget:
    def __init__(self, embedder, settings):
        self.embedder, self.settings, self.evaluated = embedder, settings, False

    def run(self, method: str, args, kwargs, event, on_token) -> Any:
        if method != "embed":
            raise ValueError(f"unknown method {method!r}")
        if not self.evaluated and fault("embed", "eval", self.settings):
            segfault()
        self.evaluated = True
        return self.embedder.embed_texts(*args)


TEMPLATE_SECONDS = 5.0  # a chat template that takes longer than this to render one message is refused


def check_template(engine) -> str | None:
    """Render a short chat with the GGUF's template, with a time limit (a template is code that comes with the file)."""
    found: dict = {}

    def render() -> None:
        try:
            if os.environ.get(FAULT_ENV) == "chat:endless-template":
                while True:
                    pass
            found["text"] = engine.format("You check a template.", "Say OK.")
        except Exception as exc:  # noqa: BLE001 - any failure of the template is the answer
            found["error"] = f"{type(exc).__name__}: {exc}"
    worker = threading.Thread(target=render, daemon=True)
    worker.start()
    worker.join(TEMPLATE_SECONDS)
    if worker.is_alive():
        return f"its chat template did not finish rendering in {TEMPLATE_SECONDS:.0f} s"
    if "error" in found:
        return f"its chat template failed to render ({found['error']})"
    return None


def load(kind: str, path: Path, settings):
    from app.llm import selfcheck
    from app.llm.files import ModelFileError
    if fault(kind, "load", settings):
        segfault()
    if kind == "chat":
        from app.llm.engine import ChatEngine
        engine = ChatEngine(path, settings=settings)
        problem = check_template(engine)
        if problem:
            raise ModelFileError(f"{path.name} cannot be used for grading: {problem}.")
        info = {"name": engine.name, "sha256": engine.sha256, "load_seconds": engine.load_seconds,
                "check": selfcheck.probe_chat(engine, wrong=os.environ.get(FAULT_ENV) == "chat:wrong-numerics")}
        return ChatTarget(engine, settings), info
    from app.llm.embedder import Embedder
    embedder = Embedder(path, settings=settings)
    embedder.load()
    return EmbedTarget(embedder, settings), {"name": path.name, "check": selfcheck.probe_embedder(embedder)}


class Server:
    def __init__(self, conn: Connection, target):
        self.conn, self.target = conn, target
        self.inbox: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.current: tuple[int, threading.Event] | None = None
        self.cancelled: set[int] = set()
        self.send_lock = threading.Lock()  # the reader thread answers pings while the main thread streams tokens

    def send(self, message) -> None:
        with self.send_lock:
            self.conn.send(message)

    def _read(self) -> None:
        """On its own thread, so that a cancel reaches the request that is running."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = ("exit",)
            if message[0] == "ping":
                self.send(("pong", message[1], None))
                continue
            if message[0] == "cancel":
                with self.lock:
                    if self.current and self.current[0] == message[1]:
                        self.current[1].set()
                    else:
                        self.cancelled.add(message[1])
                continue
            self.inbox.put(message)
            if message[0] == "exit":
                return

    def serve(self) -> None:
        from app.llm.engine import Cancelled
        threading.Thread(target=self._read, name="host-reader", daemon=True).start()
        while (message := self.inbox.get())[0] != "exit":
            _, request, method, args, kwargs = message
            event = threading.Event()
            with self.lock:
                if request in self.cancelled:
                    self.cancelled.discard(request)
                    event.set()
                self.current = (request, event)
            try:
                result = self.target.run(method, args, kwargs, event,
                                         lambda piece, r=request: self.send(("token", r, piece)))
                reply = ("ok", request, result)
            except Cancelled:
                reply = ("cancelled", request, None)
            except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent as a message
                reply = ("error", request, f"{type(exc).__name__}: {exc}")
            with self.lock:
                self.current = None
            self.send(reply)


def main(argv: list[str]) -> int:
    from app.llm.files import ModelFileError
    from app.llm.run_settings import RunSettings
    conn = Connection(int(argv[0]))
    _, kind, path, settings = conn.recv()
    settings = RunSettings(**settings)
    try:
        target, info = load(kind, Path(path), settings)
    except ModelFileError as exc:
        conn.send(("failed", str(exc)))
        return 0
    conn.send(("ready", info))
    Server(conn, target).serve()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown: freeing llama.cpp objects at exit gains nothing and can itself crash
