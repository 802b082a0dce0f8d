"""Talks to an OpenAI-compatible model server (llama-server, Ollama, vLLM, llama-cpp-python's server) over HTTP:
lists its models, asks one chat completion, streams one (SSE). Every failure becomes a ServerError naming the server
and the problem in plain words; the API key goes only into the Authorization header, never into a message."""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT_S = 30.0
FIRST_TOKEN_S = 10.0   # a stream that has not started by then counts as a failure: grading falls back
RETRIES = 2            # more attempts, for calls that are safe to repeat (no side effects on the server)
BACKOFF_S = 0.5        # doubled after each failed attempt
RETRY_STATUSES = {502, 503, 504}


class ServerError(Exception):
    """A model server could not do what was asked; the message names the server and says why."""

    def __init__(self, server: str, problem: str, retry: bool = False):
        self.server, self.problem, self.retry = server, problem, retry
        super().__init__(f"The model server {server} {problem}.")


@dataclass(frozen=True)
class ServerSettings:
    """Where the server is and how long to wait; `api_key` is kept out of repr so it cannot reach a log."""
    base_url: str
    model: str = ""
    api_key: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    first_token_s: float = FIRST_TOKEN_S

    def __repr__(self) -> str:
        return f"ServerSettings({self.shown_url!r}, model={self.model!r})"

    @property
    def shown_url(self) -> str:
        """The base URL without any user:password part."""
        parts = urllib.parse.urlsplit(self.base_url.rstrip("/"))
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def endpoint(self, path: str) -> str:
        base = self.base_url.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        return base + path


def check_url(url: str) -> str | None:
    """What is wrong with a base URL a user typed, or None."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.username or parts.password:
        # it would be stored with the settings: a secret goes in the API key field, which is kept apart
        return "the URL must not contain a user name or password; put the key in the API key field"
    if parts.scheme not in ("http", "https"):
        return f"{url!r} must start with http:// or https://"
    if not parts.hostname:
        return f"{url!r} names no host"
    return None


class ServerClient:
    def __init__(self, settings: ServerSettings):
        problem = check_url(settings.base_url)
        if problem:
            raise ServerError(settings.shown_url, f"cannot be used: {problem}")
        self.settings = settings
        self.server = settings.shown_url
        self._context = ssl.create_default_context()  # https always verifies certificates

    # -- requests ------------------------------------------------------------------------------------------
    def _request(self, path: str, body: dict | None) -> urllib.request.Request:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        return urllib.request.Request(self.settings.endpoint(path), data=data, headers=headers,
                                      method="POST" if body is not None else "GET")

    def _open(self, request: urllib.request.Request, timeout: float):
        try:
            return urllib.request.urlopen(request, timeout=timeout, context=self._context)
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except urllib.error.URLError as exc:
            raise self._network_error(exc.reason) from None
        except TimeoutError as exc:
            raise self._network_error(exc) from None
        except (http.client.HTTPException, OSError) as exc:
            raise self._network_error(exc) from None

    def _http_error(self, exc: urllib.error.HTTPError) -> ServerError:
        detail = _error_detail(exc)
        status = exc.code
        if status in (401, 403):
            return ServerError(self.server, f"refused the request ({status}: "
                                            f"{'wrong or missing API key' if status == 401 else 'not allowed'})")
        if status == 404 and self.settings.model:
            return ServerError(self.server, f"answered 404: unknown model {self.settings.model!r} or no "
                                            f"OpenAI-compatible API at this address{detail}")
        if status >= 500:
            return ServerError(self.server, f"had an internal error ({status}){detail}", retry=status in RETRY_STATUSES)
        return ServerError(self.server, f"rejected the request ({status}){detail}")

    def _network_error(self, reason: Any) -> ServerError:
        if isinstance(reason, ssl.SSLCertVerificationError):
            return ServerError(self.server, f"has a certificate that could not be verified ({reason.verify_message}); "
                                            "the connection was refused")
        if isinstance(reason, ssl.SSLError):
            return ServerError(self.server, f"failed the secure (https) handshake ({reason.reason or reason})")
        if isinstance(reason, ConnectionRefusedError):
            return ServerError(self.server, "refused the connection (is the server running on that port?)", retry=True)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return ServerError(self.server, f"did not answer within {self.settings.timeout_s:g} s")
        if isinstance(reason, socket.gaierror):
            return ServerError(self.server, "could not be found (unknown host name)")
        if isinstance(reason, (ConnectionResetError, http.client.RemoteDisconnected, http.client.IncompleteRead)):
            return ServerError(self.server, "closed the connection before the reply was complete", retry=True)
        return ServerError(self.server, f"could not be reached ({reason})", retry=True)

    def _json(self, path: str, body: dict | None, retries: int) -> dict:
        """One JSON call; calls that are safe to repeat are retried with backoff on refused connections and 502-504."""
        delay = BACKOFF_S
        for attempt in range(retries + 1):
            try:
                with self._open(self._request(path, body), self.settings.timeout_s) as reply:
                    raw = self._read_all(reply)
                return _parse_json(raw, self.server, path)
            except ServerError as exc:
                if not exc.retry or attempt == retries:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _read_all(self, reply) -> bytes:
        try:
            return reply.read()
        except TimeoutError as exc:
            raise self._network_error(exc) from None
        except (http.client.HTTPException, OSError) as exc:
            raise self._network_error(exc) from None

    def models(self) -> list[str]:
        """The model names the server lists (GET /v1/models)."""
        data = self._json("/models", None, RETRIES)
        rows = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ServerError(self.server, "sent a model list without a 'data' list")
        return [str(r.get("id")) for r in rows if isinstance(r, dict) and r.get("id")]

    def chat(self, messages: list[dict], **params) -> dict:
        """One chat completion, whole. Grading calls are deterministic and change nothing on the server, so they
        are retried like a GET."""
        body = {"model": self.settings.model, "messages": messages, "stream": False, **params}
        data = self._json("/chat/completions", body, RETRIES)
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ServerError(self.server, "sent a chat completion without 'choices'")
        return choices[0]

    def stream_chat(self, messages: list[dict], cancel: threading.Event | None = None, **params) -> Iterator[str]:
        """The pieces of one streamed chat completion (server-sent events). Not retried: it has started a generation.
        Raises ServerError when the first piece takes longer than first_token_s or the stream ends early."""
        body = {"model": self.settings.model, "messages": messages, "stream": True, **params}
        reply = self._open(self._request("/chat/completions", body), self.settings.first_token_s)
        with reply:
            first = True
            finished = False
            for event in self._events(reply, first_wait=self.settings.first_token_s):
                if cancel is not None and cancel.is_set():
                    return
                if event == "[DONE]":
                    finished = True
                    break
                data = _parse_json(event.encode("utf-8"), self.server, "/chat/completions (stream)")
                choices = data.get("choices") or [{}]
                delta = (choices[0] or {}).get("delta") or {}
                piece = delta.get("content") or ""
                if first:
                    first = False
                    _set_timeout(reply, self.settings.timeout_s)
                if piece:
                    yield piece
                if choices[0].get("finish_reason"):
                    finished = True
            if not finished:
                raise ServerError(self.server, "ended the stream before the reply was complete")

    def _events(self, reply, first_wait: float) -> Iterator[str]:
        """The data of each server-sent event."""
        data: list[str] = []
        while True:
            try:
                line = reply.readline()
            except TimeoutError:
                raise ServerError(self.server, f"sent no reply within {first_wait:g} s") from None
            except (http.client.HTTPException, OSError) as exc:
                raise self._network_error(exc) from None
            if not line:
                if data:
                    yield "\n".join(data)
                return
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if not text:
                if data:
                    yield "\n".join(data)
                    data = []
                continue
            if text.startswith("data:"):
                data.append(text[5:].lstrip())


def _set_timeout(reply, seconds: float) -> None:
    """After the first piece, the ordinary timeout applies between pieces."""
    sock = getattr(getattr(getattr(reply, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _parse_json(raw: bytes, server: str, path: str) -> dict:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        shown = raw[:80].decode("utf-8", errors="replace")
        raise ServerError(server, f"sent a reply to {path} that is not valid JSON ({exc}; it began {shown!r})") from None
    if not isinstance(data, dict):
        raise ServerError(server, f"sent a reply to {path} that is not a JSON object")
    return data


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The server's own error message, shortened (never the request, which holds the key)."""
    try:
        body = exc.read(400).decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException):
        return ""
    try:
        data = json.loads(body)
        error = data.get("error", data.get("detail", "")) if isinstance(data, dict) else ""
        message = error.get("message", "") if isinstance(error, dict) else str(error)
    except ValueError:
        message = body
    message = " ".join(str(message).split())[:200]
    return f": {message}" if message else ""

