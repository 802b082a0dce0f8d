"""The parent's side of a model process: starts `python -m app.llm.host`, sends typed requests over a socket,
streams tokens back, cancels (ending the process after a grace period), and turns the child's death into
`ModelCrashed` instead of taking this process down with it."""
from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import asdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

from app import paths
from app.llm.engine import Cancelled
from app.llm.files import ModelFileError
from app.llm.run_settings import RunSettings

CANCEL_GRACE_S = 0.4   # a cancelled request the child has not given up by then ends with the process
STOP_GRACE_S = 3.0     # a stopped one (priming a grade now waits for) gets longer: a child this slow is stuck
POLL_S = 0.02          # how often a waiting call looks at its cancel and stop events
PING_S = 1.0           # a waiting call asks the child's reader thread for a sign of life this often...
HANG_S = 5.0           # ...and ends a child that gave none for this long (stopped, or deadlocked in native code)
LOAD_TIMEOUT_S = 300.0
SIGNAL_WORDS = {signal.SIGSEGV: "segmentation fault", signal.SIGILL: "illegal instruction",
                signal.SIGABRT: "abort", signal.SIGBUS: "bus error", signal.SIGFPE: "arithmetic fault",
                signal.SIGKILL: "killed; the machine may have run out of memory"}


class ModelCrashed(Exception):
    """The model process died (a native crash, a kill, an out-of-memory kill). Nothing in this process is lost."""

    def __init__(self, model: str, kind: str, reason: str):
        self.model, self.kind, self.reason = model, kind, reason
        role = "grading model" if kind == "chat" else "embedding model"
        super().__init__(f"The {role} {model} stopped unexpectedly ({reason}).")


def death_reason(returncode: int | None) -> str:
    if returncode is None:
        return "it stopped answering"
    if returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        words = SIGNAL_WORDS.get(number)
        return f"{words}, {name}" if words else name
    return f"exit code {returncode}"


class ModelProcess:
    """One child process holding one model. Not thread-safe: its owner serialises calls."""

    _ids = itertools.count(1)

    def __init__(self, kind: str, path: Path, settings: RunSettings):
        self.kind, self.path, self.settings = kind, path, settings
        self.proc: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.started_s = 0.0
        self.in_call: str | None = None  # the method of the request in flight, if any

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> dict[str, Any]:
        """Start the child and load the model; returns what the child reports (name, sha256, timings, self-check).
        Raises ModelFileError when the model is refused, ModelCrashed when the child dies while loading."""
        started = time.perf_counter()
        ours, theirs = socket.socketpair()
        log = _log_file(self.kind)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(paths.REPO_ROOT),
                                                                            os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([sys.executable, "-m", "app.llm.host", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     env=env, cwd=str(paths.REPO_ROOT))
        log.close()
        theirs.close()
        weakref.finalize(self, _end, self.proc)  # a forgotten process must not outlive its owner
        self.conn = Connection(ours.detach())
        self._send(("load", self.kind, str(self.path), asdict(self.settings)))
        reply = self._receive(LOAD_TIMEOUT_S)
        if reply is None:
            self.stop()
            raise ModelFileError(f"{self.path.name} took more than {LOAD_TIMEOUT_S:.0f} s to load; it was stopped.")
        if reply[0] == "failed":
            self.stop()
            raise ModelFileError(reply[1])
        self.started_s = time.perf_counter() - started
        return reply[1]

    def call(self, method: str, *args, on_token: Callable[[str], None] | None = None,
             cancel: threading.Event | None = None, stop: threading.Event | None = None, **kwargs) -> Any:
        """Run one request in the child. `cancel` must end it within CANCEL_GRACE_S (the process is ended if the
        child does not give up in time: raises Cancelled); `stop` only asks (the child returns what it has)."""
        if not self.alive:
            raise self._crashed()
        request = next(self._ids)
        self._send(("call", request, method, args, kwargs))
        self.in_call = method
        try:
            return self._wait(request, on_token, cancel, stop)
        finally:
            self.in_call = None

    def _wait(self, request: int, on_token, cancel, stop):
        asked_at = None
        heard = pinged = time.perf_counter()
        while True:
            now = time.perf_counter()
            if now - heard > HANG_S:
                self.stop(kill=True)
                raise ModelCrashed(self.path.name, self.kind, f"it gave no sign of life for {HANG_S:.0f} s and was ended")
            if now - pinged >= PING_S:
                self._send(("ping", request))
                pinged = now
            if asked_at is None and ((cancel and cancel.is_set()) or (stop and stop.is_set())):
                self._send(("cancel", request))
                asked_at = time.perf_counter()
            if asked_at and time.perf_counter() - asked_at > (
                    CANCEL_GRACE_S if cancel and cancel.is_set() else STOP_GRACE_S):
                self.stop(kill=True)
                raise Cancelled()
            reply = self._receive(POLL_S)
            if reply is None:
                continue
            heard = time.perf_counter()
            kind, rid, payload = reply
            if kind == "pong" or rid != request:
                continue  # a late reply to a request its caller gave up on
            if kind == "token":
                if on_token:
                    on_token(payload)
            elif kind == "ok":
                return payload
            elif kind == "cancelled":
                raise Cancelled()
            else:
                raise RuntimeError(payload)

    def _send(self, message) -> None:
        if self.conn is None:
            raise self._crashed()
        try:
            self.conn.send(message)
        except (OSError, ValueError) as exc:
            raise self._crashed() from exc

    def _receive(self, timeout: float | None):
        """The next message, None when the timeout passed first; ModelCrashed when the child is gone."""
        try:
            if timeout is not None and not self.conn.poll(timeout):
                return None
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            raise self._crashed() from exc

    def _crashed(self) -> ModelCrashed:
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.stop(kill=True)
                code = self.proc.returncode
        self._close_conn()
        return ModelCrashed(self.path.name, self.kind, death_reason(code))

    def stop(self, kill: bool = False, grace: float = 2.0) -> None:
        """End the child: politely (it exits when asked), or at once with kill."""
        if self.proc is None:
            return
        if self.proc.poll() is None and not kill and self.conn is not None:
            try:
                self.conn.send(("exit",))
                self.proc.wait(timeout=grace)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_conn()

    def _close_conn(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _log_file(kind: str):
    """llama.cpp's own messages go to a log in the data folder (the last start of each kind), not the terminal."""
    folder = paths.data_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / f"model-{kind}.log").open("wb")
