"""`python -m app bench --server URL|local --model F`: grading through an OpenAI-compatible server against in-process
on the same model file in the same run (ratios printed), and the server's prompt cache: primed against cold.
`--server local` starts llama-cpp-python's own server on the model file, on 127.0.0.1, for the run."""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from app import paths
from app.bench import figure_line

QID = "fine-tuning-vs-rag-001"
OTHER = "rag-002"  # a question whose prompt replaces QID's in the server's cache
ANSWERS = [
    ("I recommend retrieval-augmented generation: index the wiki and look up the relevant pages at query time. The "
     "wiki changes every day, so an index updated in minutes stays current, and users need the source page."),
    ("Fine-tuning on the wiki every night would bake the pages in, but they change daily, so retrieval wins: the "
     "index is updated in minutes and every answer can cite its page."),
    "Retrieval. Nightly fine-tunes cost GPU hours and still lag the edits; a search index over the pages stays fresh.",
    "I'd go with RAG because the content changes constantly and citations matter to the support team.",
]
REPEATS = 1
BENCH_TIMEOUT_S = 600.0  # a loaded machine is slow, not broken: the bench waits where the app would fall back
FULL_GRADES = 2  # a full grade streams the explanation: a few are enough for a median


def start_local_server(model: Path, log: Path) -> tuple[subprocess.Popen, str]:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "app.llm.serve", "--model", str(model), "--model_alias",
                             model.name, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                             "--n_threads", "2"], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 180
    while time.monotonic() < end and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"llama_cpp.server did not start; see {log}")


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _figures(engines: dict, question, other, library) -> None:
    """Each measurement alternates between the two engines, answer by answer, so that both see the same load from
    whatever else the machine runs; each row prints once measured: in-process, server, and their ratio."""
    from app.llm.grader import grade_answer, model_choice, prime_question
    times: dict[str, dict[str, list[float]]] = {name: {} for name in engines}

    def note(name: str, key: str, seconds: float) -> None:
        times[name].setdefault(key, []).append(seconds)

    def full_grade(engine, answer: str) -> None:
        tools = library.grading_tools(engine)
        grade = grade_answer(question, answer, tools)
        tools.raise_crash()
        if grade.notice:
            raise RuntimeError(grade.notice)  # a fallback grade would time the wrong thing
    print(f"  {'':40} {'in-process':>11} {'server':>9} {'server / in-process':>20}")

    def row(key: str) -> None:
        a, b = (statistics.median(times[name][key]) for name in engines)
        print(f"  {key:40} {a:10.3f}s {b:8.3f}s {b / max(a, 1e-9):19.2f}x", flush=True)
    for n in range(REPEATS * len(ANSWERS)):
        answer, another = ANSWERS[n % len(ANSWERS)], ANSWERS[(n + 1) % len(ANSWERS)]
        for name, engine in engines.items():
            prime_question(engine, other)  # another scenario in the cache: the next call evaluates the whole prompt
            note(name, "choice call, cold prompt cache", _timed(lambda e=engine, a=answer: model_choice(e, question, a)))
            prime_question(engine, question)
            # another answer than the call before: the same prompt again would be answered from the cache
            note(name, "choice call, primed", _timed(lambda e=engine, a=another: model_choice(e, question, a)))
    row("choice call, cold prompt cache")
    row("choice call, primed")
    for name in engines:
        cold, primed = (statistics.median(times[name][k]) for k in ("choice call, cold prompt cache",
                                                                    "choice call, primed"))
        figure_line(f"prompt cache, {name.split(' (')[0]}: cold / primed", f"{cold / max(primed, 1e-9):.1f}x")
    for n in range(FULL_GRADES):
        for name, engine in engines.items():
            prime_question(engine, question)
            note(name, "full grade (with explanation), primed", _timed(lambda e=engine, a=ANSWERS[n]: full_grade(e, a)))
    row("full grade (with explanation), primed")


def run_server_bench(server: str, model_name: str, model_file: str | None) -> int:
    from app.cli import server_engine
    from app.library import open_library
    from app.llm.choose import resolve_model
    from app.llm.remote import RemoteChatEngine
    path, reason = resolve_model(paths.models_dir(), model_file)
    if path is None:
        print(reason, file=sys.stderr)
        return 1
    library = open_library()
    question, other = library.by_id[QID], library.by_id[OTHER]
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if server == "local":
                proc, server = start_local_server(path, Path(tmp) / "server.log")
                model_name = model_name or path.name
            print(f"Grading through a model server ({server}, {model_name}) against in-process ({path.name}); "
                  f"medians of {REPEATS * len(ANSWERS)} calls, {FULL_GRADES} full grades")
            remote = server_engine(server, model_name, timeout_s=BENCH_TIMEOUT_S)
            local = RemoteChatEngine(path)
            names = (f"in-process ({path.name}, the app's model process)", f"server ({remote.grading_path})")
            try:
                _figures(dict(zip(names, (local, remote))), question, other, library)
            finally:
                local.stop()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    return 0
