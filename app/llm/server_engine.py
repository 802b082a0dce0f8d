"""A grading model behind an OpenAI-compatible server: what it supports (probed on connect), the next-token
log-probabilities of a few candidate replies, a constrained reply where the server gives no log-probabilities, priming
the shared prompt prefix into the server's prompt cache, and the streamed explanation."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from app.llm.engine import Cancelled, ChatEngine
from app.llm.server_client import ServerClient, ServerError, ServerSettings

TOP_LOGPROBS = 20          # what OpenAI and vLLM allow at most; llama-server and llama-cpp-python give as many
LOGPROBS_PATH = "server logprobs"
REPLY_PATH = "server constrained reply"
# a single constrained reply says which option, not how sure: the chosen one gets this probability, below the policy's
# model_sure (0.9), so a reply alone never overturns a rubric that is sure, and above model_min (0.35)
REPLY_CONFIDENCE = 0.75


@dataclass
class Capabilities:
    """What the probe found the server does."""
    logprobs: bool = False
    top_logprobs: int = 0
    streaming: bool = False
    json_format: str = ""      # "json_schema", "json_object" (with a schema), or "" (neither constrains the reply)
    probe_s: float = 0.0

    @property
    def path(self) -> str:
        return LOGPROBS_PATH if self.logprobs and self.top_logprobs >= 5 else REPLY_PATH

    def describe(self) -> str:
        parts = [f"log-probabilities (top {self.top_logprobs})" if self.logprobs else "no log-probabilities",
                 "streaming" if self.streaming else "no streaming",
                 f"constrained JSON ({self.json_format})" if self.json_format else "no constrained JSON"]
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)


class ServerEngine:
    """The grader's view of a server model. Calls block (run them on the grading thread), one at a time."""

    def __init__(self, settings: ServerSettings, probe: bool = True):
        self.settings = settings
        self.client = ServerClient(settings)
        self.server = self.client.server
        self.name = f"{settings.model} on {self.server}"
        self.model_id = f"server:{self.server}#{settings.model}"  # what check-model results are stored under
        self.capabilities = Capabilities()
        self.load_seconds = 0.0
        self.notices: list[str] = []
        self.crash = None
        if probe:
            self.probe()

    # -- the dispatcher's view (what RemoteChatEngine also offers) -------------------------------------------
    alive = True

    def take_crash(self):
        return None

    def ensure_running(self) -> None:
        pass

    def stop(self) -> None:
        pass

    @property
    def grading_path(self) -> str:
        return self.capabilities.path

    # -- probing ---------------------------------------------------------------------------------------------
    def probe(self) -> Capabilities:
        """Ask the server what it does, with tiny requests; raises ServerError when it cannot grade at all."""
        started = time.perf_counter()
        listed = self.client.models()
        if listed and self.settings.model not in listed:
            raise ServerError(self.server, f"does not serve the model {self.settings.model!r} "
                                           f"(it lists: {', '.join(listed[:8])})")
        found = Capabilities()
        messages = [{"role": "user", "content": "Reply with one letter: A or B?"}]
        reply = self.client.chat(messages, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=TOP_LOGPROBS)
        top = _top_logprobs(reply)
        found.logprobs, found.top_logprobs = top is not None, len(top or {})
        try:
            found.streaming = any(True for _ in self.client.stream_chat(messages, max_tokens=2, temperature=0.0))
        except ServerError:
            found.streaming = False
        found.json_format = self._probe_json()
        found.probe_s = time.perf_counter() - started
        self.capabilities, self.load_seconds = found, found.probe_s
        return found

    def _probe_json(self) -> str:
        messages = [{"role": "user", "content": "Pick A or B. Reply as JSON."}]
        for kind in ("json_schema", "json_object"):
            try:
                reply = self.client.chat(messages, max_tokens=12, temperature=0.0,
                                         response_format=_json_format(kind, ["A", "B"]))
                if json.loads(_content(reply)).get("choice") in ("A", "B"):
                    return kind
            except (ServerError, ValueError, AttributeError):
                continue
        return ""

    # -- grading calls ---------------------------------------------------------------------------------------
    def candidate_logprobs(self, system: str, user: str, candidates: Iterable[str],
                           cancel: threading.Event | None = None) -> tuple[dict[str, float], float]:
        """Log-probability of each candidate found among the reply's first token's top log-probabilities, and the
        smallest listed value: a bound that a candidate outside the list cannot exceed."""
        _check(cancel)
        reply = self.client.chat(_messages(system, user), max_tokens=1, temperature=0.0, logprobs=True,
                                 top_logprobs=min(TOP_LOGPROBS, max(self.capabilities.top_logprobs, 1)),
                                 cache_prompt=True)
        _check(cancel)
        top = _top_logprobs(reply)
        if not top:
            raise ServerError(self.server, "sent a reply without log-probabilities")
        return {c: top[c] for c in candidates if c in top}, min(top.values())

    def constrained_reply(self, system: str, user: str, candidates: list[str],
                          cancel: threading.Event | None = None) -> str:
        """One of the candidates, as the server's reply: JSON constrained to them where the server constrains
        replies, else one short reply read for the first candidate it names ("" when it names none)."""
        _check(cancel)
        fmt = self.capabilities.json_format
        params = {"response_format": _json_format(fmt, candidates), "max_tokens": 16} if fmt else {"max_tokens": 3}
        reply = _content(self.client.chat(_messages(system, user), temperature=0.0, cache_prompt=True, **params))
        _check(cancel)
        if fmt:
            try:
                picked = str(json.loads(reply).get("choice", ""))
            except (ValueError, AttributeError):
                raise ServerError(self.server, f"sent a constrained reply that is not the JSON asked for ({reply[:60]!r})")
            return picked if picked in candidates else ""
        word = reply.strip().strip(".:*\"'")
        return next((c for c in candidates if word.lower().startswith(c.strip().lower())), "")

    def prime(self, system: str, user_prefix: str) -> None:
        """Send the prompt up to the answer, so that the server's prompt cache holds it at submit (llama-server's
        cache_prompt, vLLM's prefix caching, llama-cpp-python's kept KV cache)."""
        self.client.chat(_messages(system, user_prefix), max_tokens=1, temperature=0.0, cache_prompt=True)

    def stream(self, system: str, user: str, max_tokens: int, cancel: threading.Event | None = None,
               on_token: Callable[[str], None] | None = None, finish_after: int | None = None,
               lead: str = "") -> str:
        """Stream the reply (not retried: a generation has started). With `lead`, the model was asked to begin
        with it; it is dropped from the pieces if it does."""
        chunks = self._chunks(_messages(system, user), max_tokens, cancel, lead)
        text = ChatEngine._pieces(chunks, [], cancel, on_token, finish_after)
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        return text

    def _chunks(self, messages: list[dict], max_tokens: int, cancel, lead: str):
        params = {"max_tokens": max_tokens, "temperature": 0.0, "cache_prompt": True}
        if not self.capabilities.streaming:
            yield {"choices": [{"text": _without_lead(_content(self.client.chat(messages, **params)), lead)}]}
            return
        held = ""  # the first characters wait until it is clear whether the model repeated the lead
        for piece in self.client.stream_chat(messages, cancel=cancel, **params):
            if held is not None:
                held += piece
                if len(held.strip()) < len(lead) and lead.lower().startswith(held.strip().lower()):
                    continue
                piece, held = _without_lead(held, lead), None
            if piece:
                yield {"choices": [{"text": piece}]}
        if held:
            yield {"choices": [{"text": _without_lead(held, lead)}]}


def _messages(system: str, user: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _content(choice: dict) -> str:
    message = choice.get("message") or {}
    return str(message.get("content") or choice.get("text") or "")


def _without_lead(text: str, lead: str) -> str:
    stripped = text.lstrip()
    if lead and stripped.lower().startswith(lead.lower()):
        return stripped[len(lead):]
    return text


def _top_logprobs(choice: dict) -> dict[str, float] | None:
    """{token text: log-probability} of the first reply token, or None when the reply has none."""
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        return None
    content = logprobs.get("content")
    if not isinstance(content, list) or not content or not isinstance(content[0], dict):
        return None
    first = content[0]
    found: dict[str, float] = {}
    for entry in first.get("top_logprobs") or []:
        if isinstance(entry, dict) and isinstance(entry.get("logprob"), (int, float)):
            token = str(entry.get("token", ""))
            found[token] = max(found.get(token, -1e9), float(entry["logprob"]))
    if not found and isinstance(first.get("logprob"), (int, float)):
        found[str(first.get("token", ""))] = float(first["logprob"])
    return found or None


def _json_format(kind: str, candidates: list[str]) -> dict:
    schema = {"type": "object", "properties": {"choice": {"type": "string", "enum": list(candidates)}},
              "required": ["choice"]}
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "choice", "schema": schema, "strict": True}}
    return {"type": "json_object", "schema": schema}
