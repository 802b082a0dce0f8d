"""Servers for the model-server tests: llama-cpp-python's own OpenAI-compatible server on the small model, and a tiny
HTTP server in this process that misbehaves on purpose (malformed JSON, 401, a slow first token, no logprobs)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL_ALIAS = "smollm2-135m"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` on 127.0.0.1 with the given model; started, waited for, and ended by its owner."""

    def __init__(self, model: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.llm.serve", "--model", str(model), "--model_alias", MODEL_ALIAS,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096", "--n_threads", "2"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Misbehaving:
    """A tiny OpenAI-look-alike on 127.0.0.1. `mode`: 'malformed' (broken JSON), 'unauthorised' (401 unless the right
    key), 'slow-first-token' (streams after the probe's start after `delay` s: a server that got busy), 'no-logprobs' (replies without log-probabilities, JSON
    replies constrained to the first option)."""

    def __init__(self, mode: str, key: str = "", delay: float = 3.0, reply: str = "B"):
        self.mode, self.key, self.delay, self.reply = mode, key, delay, reply
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.streams = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                owner.headers.append(dict(self.headers))
                if owner._refuse(self):
                    return
                if owner.mode == "malformed":
                    self._send(200, b'{"object": "list", "data": [{"id": "m"')
                    return
                self._send(200, json.dumps({"object": "list", "data": [{"id": "m"}]}).encode())

            def do_POST(self) -> None:
                owner.headers.append(dict(self.headers))
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                owner.requests.append(body)
                if owner._refuse(self):
                    return
                if body.get("stream"):
                    self._stream(body)
                    return
                content = owner.reply
                if body.get("response_format"):
                    content = json.dumps({"choice": body["response_format"].get("schema", body["response_format"].get(
                        "json_schema", {}).get("schema", {}))["properties"]["choice"]["enum"][1]})
                choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                if owner.mode != "no-logprobs" and body.get("logprobs"):
                    choice["logprobs"] = {"content": [{"token": "A", "logprob": -0.1, "top_logprobs": [
                        {"token": t, "logprob": lp} for t, lp in
                        [("A", -0.1), ("B", -2.5), ("C", -3.0), ("D", -4.0), ("E", -5.0), ("Yes", -0.3),
                         ("No", -1.5)]]}]}
                self._send(200, json.dumps({"object": "chat.completion", "choices": [choice]}).encode())

            def _stream(self, body: dict) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.flush()
                owner.streams += 1
                if owner.mode == "slow-first-token" and owner.streams > 1:
                    time.sleep(owner.delay)
                try:
                    for piece in ["It", " wins", "."]:
                        self.wfile.write(f"data: {json.dumps({'choices': [{'delta': {'content': piece}}]})}\n\n".encode())
                    self.wfile.write(b'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n')
                    self.wfile.flush()
                except OSError:
                    pass

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _refuse(self, handler) -> bool:
        if self.mode != "unauthorised" or handler.headers.get("Authorization") == f"Bearer {self.key}":
            return False
        data = json.dumps({"error": {"message": "Invalid API key", "type": "invalid_request_error"}}).encode()
        handler.send_response(401)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
