"""Models in their own processes (real llama.cpp, real GGUFs): the same numbers as in-process, cancel inside a long
prompt, crashes turned into ModelCrashed, restarts, the safe-settings ladder, the start-up self-check, the CLI."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from app.llm import selfcheck
from app.llm.engine import Cancelled, ChatEngine
from app.llm.files import ModelFileError
from app.llm.host import FAULT_ENV
from app.llm.process import ModelCrashed, death_reason
from app.llm.remote import ModelUnusable, RemoteChatEngine, RemoteEmbedder
from app.llm.run_settings import SettingsMemory, ladder

SYSTEM = "You are a careful interviewer."
USER = "Scenario: the wiki changes daily.\nOptions:\nA. RAG\nB. Fine-tune\nI pick RAG.\nReply with one letter."
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def memory(tmp_path: Path) -> SettingsMemory:
    return SettingsMemory(tmp_path / "model-settings.json")


@pytest.fixture
def remote(smol_path: Path, memory: SettingsMemory):
    engine = RemoteChatEngine(smol_path, memory)
    yield engine
    engine.stop()


def test_the_model_process_gives_the_in_process_numbers(remote: RemoteChatEngine, smol_engine: ChatEngine) -> None:
    prompt = remote.format(SYSTEM, USER)
    assert prompt == smol_engine.format(SYSTEM, USER)
    assert remote.first_token("A") == smol_engine.first_token("A")
    assert remote.sha256 == smol_engine.sha256
    here = smol_engine.next_token_logprobs(prompt)
    there = remote.next_token_logprobs(prompt)
    assert there.shape == here.shape
    assert np.abs(there - here).max() < 1e-3
    assert remote.prime(prompt[: prompt.index("I pick")]) > 0
    endings = [prompt + " Yes", prompt + " No, the other one"]  # read side by side in the process, as in-process
    ids = [remote.first_token("A"), remote.first_token("B")]
    here_together = smol_engine.branch_logprobs(endings, ids)
    assert np.abs(np.array(remote.branch_logprobs(endings, ids)) - np.array(here_together)).max() < 1e-3
    streamed: list[str] = []
    text = remote.stream(prompt, 8, on_token=streamed.append)
    assert text == "".join(streamed) and text


def test_cancel_stops_a_long_prompt_without_ending_the_process(remote: RemoteChatEngine) -> None:
    long_prompt = remote.format(SYSTEM, "The index is rebuilt nightly from the wiki export. " * 300)
    cancel = threading.Event()
    pid = remote.process.pid
    threading.Timer(0.05, cancel.set).start()  # early: a fast CPU may finish this prompt in well under a second
    with pytest.raises(Cancelled):
        remote.next_token_logprobs(long_prompt, cancel=cancel)
    assert remote.alive and remote.process.pid == pid, "llama.cpp's abort callback should have stopped it"
    cold = ChatEngine(remote.path)
    prompt = remote.format(SYSTEM, USER)
    assert np.abs(remote.next_token_logprobs(prompt) - cold.next_token_logprobs(prompt)).max() < 1e-3


def test_a_killed_process_raises_model_crashed_and_the_next_call_restarts_it(remote: RemoteChatEngine) -> None:
    prompt = remote.format(SYSTEM, USER)
    first = remote.process.pid
    os.kill(first, signal.SIGSTOP)  # hold it mid-request, then kill it there, as the kernel's OOM killer would
    threading.Timer(0.3, os.kill, (first, signal.SIGKILL)).start()
    with pytest.raises(ModelCrashed) as crashed:
        remote.next_token_logprobs(prompt)
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in str(crashed.value) and "SIGKILL" in str(crashed.value)
    assert not remote.alive
    assert np.isfinite(remote.next_token_logprobs(prompt)).all()
    assert remote.process.pid != first


def test_a_process_that_died_between_calls_is_reported_and_restarted(remote: RemoteChatEngine) -> None:
    os.kill(remote.process.pid, signal.SIGKILL)
    remote.process.proc.wait()
    assert remote.first_token("B") >= 0
    crash = remote.take_crash()
    assert crash is not None and "SIGKILL" in crash.reason


def test_crash_on_first_evaluation_walks_down_to_safe_settings_and_remembers(
        smol_path: Path, memory: SettingsMemory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "chat:crash-unless-one-thread")
    engine = RemoteChatEngine(smol_path, memory)
    prompt = engine.format(SYSTEM, USER)
    crashes = 0
    while True:
        try:
            engine.next_token_logprobs(prompt)
            break
        except ModelCrashed as crash:
            assert "segmentation fault" in crash.reason
            crashes += 1
            assert crashes <= 2 * len(ladder())
    assert engine.settings.threads == 1 and not engine.settings.extra_buffers
    assert crashes == 2 * (len(ladder()) - 1), "each step is tried twice before a safer one"
    assert any("safer" in n for n in engine.notices)
    engine.stop()
    assert memory.settings_for(smol_path) == engine.settings
    again = RemoteChatEngine(smol_path, memory)  # a new start goes straight to the settings that worked
    assert again.settings == engine.settings
    assert np.isfinite(again.next_token_logprobs(prompt)).all()
    again.stop()


def test_a_model_that_crashes_on_load_with_every_setting_is_refused(
        smol_path: Path, memory: SettingsMemory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "chat:crash-on-load")
    with pytest.raises(ModelUnusable, match="crashed with every setting"):
        RemoteChatEngine(smol_path, memory)
    assert memory.settings_for(smol_path) is None
    assert "segmentation fault" in memory.entry(smol_path)["last_crash"]


def test_the_self_check_refuses_wrong_numbers(smol_path: Path, memory: SettingsMemory,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "chat:wrong-numerics")
    with pytest.raises(ModelUnusable, match="computes wrong results for SmolLM2"):
        RemoteChatEngine(smol_path, memory)


def test_the_self_check_matches_each_known_model_and_tells_models_apart(smol_engine: ChatEngine) -> None:
    found = selfcheck.probe_chat(smol_engine)
    assert selfcheck.compare_chat(found, selfcheck.CHAT_REFERENCES[smol_engine.name]) is None
    for name, reference in selfcheck.CHAT_REFERENCES.items():
        if name != smol_engine.name:
            assert selfcheck.compare_chat(found, reference) is not None, f"{name}'s reference accepts SmolLM2"
    assert selfcheck.compare_chat(dict(found, finite=False), None) is not None


def test_the_embedding_process_matches_in_process_and_restarts(embed_path: Path, embedder,
                                                                memory: SettingsMemory) -> None:
    remote = RemoteEmbedder(embed_path, memory)
    texts = ["kv cache memory", "LoRA rank and alpha"]
    assert np.abs(np.asarray(remote(texts)) - np.asarray(embedder(texts))).max() < 1e-4
    assert selfcheck.compare_embedder(selfcheck.probe_embedder(embedder),
                                      selfcheck.EMBED_REFERENCES[embed_path.name]) is None
    remote.kill()
    remote.caching = False
    assert np.abs(np.asarray(remote(texts)) - np.asarray(embedder(texts))).max() < 1e-4
    assert remote.take_crash() is not None
    remote.stop()


def test_death_reasons_name_the_signal_in_plain_words() -> None:
    assert death_reason(-signal.SIGILL) == "illegal instruction, SIGILL"
    assert death_reason(-signal.SIGSEGV) == "segmentation fault, SIGSEGV"
    assert death_reason(3) == "exit code 3"


def _cli(args: list[str], data_dir: Path, fault: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COACH_DATA_DIR=str(data_dir), **{FAULT_ENV: fault})
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


def test_cli_grade_reports_a_crashed_model_in_one_line_with_exit_code_3(bank_in_data_dir: Path, data_dir: Path,
                                                                        smol_path: Path) -> None:
    result = _cli(["grade", "--question", "fine-tuning-vs-rag-001", "--model", str(smol_path), "--answer",
                   "RAG: the wiki changes daily and users need the source page."], data_dir, "chat:crash-on-eval")
    assert result.returncode == 3, result.stderr
    assert "grader: rubric only" in result.stdout  # the answer was still graded, from the rubric
    lines = [line for line in result.stderr.splitlines() if "stopped unexpectedly" in line]
    assert len(lines) == 1 and "SmolLM2-135M-Instruct.Q4_1.gguf" in lines[0]
    assert "segmentation fault, SIGSEGV" in lines[0] and "--rubric-only" in lines[0]
    assert "Segmentation fault" not in result.stderr.replace(lines[0], "")


def test_cli_search_reports_a_crashed_embedding_model_with_exit_code_3(bank_in_data_dir: Path,
                                                                       data_dir: Path) -> None:
    result = _cli(["search", "kv cache memory"], data_dir, "embed:crash-on-eval")
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "embedding model all-MiniLM-L6-v2.q8_0.gguf stopped unexpectedly (segmentation fault" in result.stderr


def test_a_chat_template_that_never_finishes_fails_the_model_with_the_reason(
        smol_path: Path, memory: SettingsMemory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "chat:endless-template")
    with pytest.raises(ModelFileError, match="chat template did not finish rendering in 5 s"):
        RemoteChatEngine(smol_path, memory)


@pytest.mark.parametrize("flags, repacked", [("fpu sse2 avx avx2 fma f16c", True),
                                             ("avx avx2 fma avx512f avx512bw avx512_vnni", False),
                                             ("avx avx2 avx512f amx_tile amx_int8 amx_bf16", False)])
def test_the_default_buffers_follow_the_cpu(tmp_path: Path, monkeypatch, flags: str, repacked: bool) -> None:
    # read from a cpuinfo file: repacked weight buffers on AVX2; plain ones where AMX crashes and AVX-512 is faster
    from app.llm import cpu
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n", encoding="utf-8")
    monkeypatch.setattr(cpu, "CPUINFO", info)
    cpu.cpu_flags.cache_clear()
    try:
        steps = ladder()
        assert steps[0].extra_buffers is repacked and not any(s.extra_buffers for s in steps[1:])
        assert steps[-1].threads == 1
    finally:
        cpu.cpu_flags.cache_clear()
