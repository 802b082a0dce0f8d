"""`bench` figures for the model process: CPU features, prompt and generation speed through the process against
llama.cpp in this process, the cost of the process boundary per grade, and how fast a cancel lands."""
from __future__ import annotations

import statistics
import threading
import time

from app.bench import figure_line
from app.llm import cpu

SYSTEM = "You are a careful interviewer for AI engineering roles."
FILLER = ("The support wiki has four thousand pages that change daily, answers must cite the page they came from, "
          "and the budget allows one mid-size GPU. ")


def default_model_path():
    """The default model's file; None (the reason printed) when there is none."""
    from app import paths
    from app.llm.choose import resolve_model
    path, reason = resolve_model(paths.models_dir(), None)
    if path is None:
        print(f"  {reason}")
    return path


def default_model_process():
    """The default model in its own process, as the app runs it; None (the reason printed) when there is none."""
    from app.llm.remote import RemoteChatEngine
    path = default_model_path()
    return RemoteChatEngine(path) if path is not None else None


def _prompt_rate(engine, prompt: str, tokens: int) -> float:
    engine.reset()
    started = time.perf_counter()
    engine.next_token_logprobs(prompt)
    return tokens / (time.perf_counter() - started)


def _generation_rate(engine, prompt: str, count: int = 32) -> float:
    engine.reset()
    engine.next_token_logprobs(prompt)  # the prompt is evaluated before the clock starts
    pieces: list[str] = []
    started = time.perf_counter()
    engine.stream(prompt, count, on_token=pieces.append)
    return len(pieces) / (time.perf_counter() - started)


def bench_model_process(local, remote) -> None:
    from app.llm.loading import system_info
    print("  -- CPU and model process")
    figure_line("CPU", cpu.cpu_name()[:40])
    figure_line("CPU features (/proc/cpuinfo)", " ".join(cpu.features()) or "none found")
    print(f"  llama.cpp system info: {system_info()}")
    long_prompt = local.format(SYSTEM, FILLER * 6 + "Which option do you recommend?")
    tokens = len(local.tokens(long_prompt))
    rates = {"local": [], "remote": []}
    generation = {"local": [], "remote": []}
    for _ in range(2):  # alternating, so that a noisy stretch of the machine hits both
        for name, engine in (("local", local), ("remote", remote)):
            rates[name].append(_prompt_rate(engine, long_prompt, tokens))
            generation[name].append(_generation_rate(engine, local.format(SYSTEM, "Describe a vector index.")))
    for label, found in (("prompt", rates), ("generation", generation)):
        here, there = statistics.median(found["local"]), statistics.median(found["remote"])
        figure_line(f"{label} tokens/s: in this process / model process", f"{here:.1f} / {there:.1f}",
              f"ratio {there / here:.2f} (target >= 0.95)")
    _boundary(local, remote)
    _cancel_latency(remote, local.format(SYSTEM, FILLER * 40))


def _boundary(local, remote) -> None:
    """What the process boundary adds to one grade: its round trips, and the log-probability arrays it carries."""
    rtt = []
    for _ in range(200):
        started = time.perf_counter()
        remote.cached_tokens()
        rtt.append(time.perf_counter() - started)
    prompt = local.format(SYSTEM, "Which option?")
    local.next_token_logprobs(prompt)
    remote.next_token_logprobs(prompt)
    extra = []
    for _ in range(20):  # the same prompt again returns saved logits: what is left is the cost of carrying them
        t = time.perf_counter()
        local.next_token_logprobs(prompt)
        here = time.perf_counter() - t
        t = time.perf_counter()
        remote.next_token_logprobs(prompt)
        extra.append(time.perf_counter() - t - here)
    calls = 8 + 5 + 1  # per grade at most: format/tokens look-ups not cached yet, 1 choice + 4 option checks, 1 stream
    per_call, per_array = statistics.median(rtt), max(statistics.median(extra) - statistics.median(rtt), 0.0)
    figure_line("one round trip to the model process (median)", f"{per_call * 1000:.2f} ms")
    figure_line("carrying one log-probability array", f"{per_array * 1000:.2f} ms")
    figure_line("process boundary per grade (14 calls, 5 arrays)", f"{(calls * per_call + 5 * per_array) * 1000:.1f} ms",
          "target <= 20 ms")


def _cancel_latency(remote, prompt: str) -> None:
    """Cancel a long prompt after 1 s: how long until the call returns, and whether the process had to be ended."""
    from app.llm.engine import Cancelled
    remote.reset()
    cancel = threading.Event()
    marks = {}

    def press() -> None:
        marks["pressed"] = time.perf_counter()
        cancel.set()
    threading.Timer(1.0, press).start()
    pid = remote.process.pid
    try:
        remote.next_token_logprobs(prompt, cancel=cancel)
    except Cancelled:
        pass
    waited = time.perf_counter() - marks.get("pressed", time.perf_counter())
    kept = remote.alive and remote.process.pid == pid
    figure_line("cancel inside a long prompt: stopped after", f"{waited * 1000:.0f} ms",
          f"target <= 500 ms; {'process kept' if kept else 'process ended and restarted'}")
    remote.ensure_running()
