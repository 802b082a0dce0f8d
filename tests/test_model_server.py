"""Grading through an OpenAI-compatible model server: llama-cpp-python's own server on 127.0.0.1 with the small model
(the same numbers as the in-process engine), and its failures: stopped, unknown model, killed mid-stream, and a tiny
misbehaving server (malformed JSON, 401, slow first token, no logprobs). The API key never leaks."""
from __future__ import annotations

import json
import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from server_fixtures import MODEL_ALIAS, LlamaServer, Misbehaving, free_port

from app import keystore, paths, server_config
from app.core.option_order import model_order
from app.library import open_library
from app.llm.grader import (
    GradingTools,
    grade_answer,
    model_choice,
    option_checks,
    prime_question,
)
from app.llm.prompts import option_check_user
from app.llm.server_client import ServerClient, ServerError, ServerSettings
from app.llm.server_engine import LOGPROBS_PATH, REPLY_PATH, ServerEngine
from app.llm.yes_no import forget_readings, p_yes
from app.sessions.dispatcher import GradingDispatcher, Mailbox
from app.sessions.practice import PracticeSession
from app.storage.backup import write_export
from app.storage.userdb import attempts, open_user_db

FIXTURES = Path(__file__).resolve().parent / "data" / "content"
QID = "fine-tuning-vs-rag-001"
ANSWERS = [
    ("I recommend retrieval-augmented generation: index the wiki and look up the relevant pages at query time. "
     "The wiki changes every day, so an index updated in minutes stays current, and users need the source page."),
    "Fine-tune the model on the wiki every night, it will then know everything and answer faster.",
    "Honestly I'm not sure, both could work depending on the budget.",
]
SECRET = "sk-test-SECRET-6f1d2c"


@pytest.fixture(scope="module")
def llama_server(smol_path: Path, tmp_path_factory):
    server = LlamaServer(smol_path, tmp_path_factory.mktemp("llama-server") / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def misbehaving():
    servers: list[Misbehaving] = []

    def start(mode: str, **kwargs) -> Misbehaving:
        servers.append(Misbehaving(mode, **kwargs))
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def no_system_keyring(monkeypatch):
    """The tests never touch the user's real keyring: the key goes to the private file, as on a headless Linux."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def served(server, model: str = MODEL_ALIAS, **kwargs) -> ServerEngine:
    return ServerEngine(ServerSettings(server.url, model, **kwargs))


def test_the_server_reads_the_same_option_probabilities_as_the_in_process_engine(llama_server, smol_engine,
                                                                                  questions) -> None:
    engine = served(llama_server)
    assert engine.capabilities.logprobs and engine.capabilities.top_logprobs >= 5 and engine.capabilities.streaming
    assert engine.grading_path == LOGPROBS_PATH
    question = questions[QID]
    for answer in ANSWERS:
        remote, local = model_choice(engine, question, answer), model_choice(smol_engine, question, answer)
        assert remote.keys() == local.keys()
        assert max(abs(remote[k] - local[k]) for k in local) < 1e-3, (remote, local)
    # a server reads the checks one after another; so does the in-process reading they are compared with (the
    # grader reads them side by side in-process, which moves each P(yes) a little: test_engine.ROW_NOISE)
    remote = option_checks(engine, question, ANSWERS[0])
    forget_readings()  # the in-process readings below are taken, not remembered from another test
    alone = {o.id: p_yes(smol_engine, option_check_user(question, ANSWERS[0], i))
             for i, o in enumerate(question.options)}
    assert max(abs(remote[k] - alone[k]) for k in alone) < 1e-3, (remote, alone)
    forget_readings()
    together = option_checks(smol_engine, question, ANSWERS[0])
    assert max(abs(together[k] - alone[k]) for k in alone) < 0.125, (together, alone)


def test_a_whole_grade_through_the_server_records_its_path_and_model(llama_server, questions) -> None:
    engine = served(llama_server)
    question = questions[QID]
    prime_question(engine, question)
    pieces: list[str] = []
    grade = grade_answer(question, ANSWERS[0], GradingTools(engine), on_token=pieces.append)
    assert grade.path == LOGPROBS_PATH and grade.grader == f"{MODEL_ALIAS} on {llama_server.url}"
    assert grade.evidence["letters"] and grade.notice == ""
    assert grade.explanation.startswith(pieces[0].strip()[:20]) and "".join(pieces).strip() == grade.explanation
    assert "The right choice wins because" in grade.explanation and grade.explanation.count("wins because") == 1


def test_an_open_answer_is_checked_through_the_server_as_in_process_and_falls_back_when_it_goes(
        llama_server, smol_engine) -> None:
    from app.content.open_items import parse_followup_file
    from app.llm.open_grader import point_checks
    followups, errors, _ = parse_followup_file(FIXTURES / "followups" / "rag.toml", "rag.toml")
    assert errors == []
    question = followups[0].as_question()
    answer = "Run the eval again before and after, and check the judge against some human labels."
    engine = served(llama_server)
    every = list(range(len(question.key_points)))
    remote, local = point_checks(engine, question, answer, every), point_checks(smol_engine, question, answer, every)
    # same numbers as in process, to the third decimal (these prompts measure 1.2e-3 apart, the option checks under
    # 1e-3: the server evaluates the prompt in other batches, which moves the logits in the last float digits)
    assert remote.keys() == local.keys() and max(abs(remote[k] - local[k]) for k in local) < 2e-3, (remote, local)
    prime_question(engine, question)  # an open item's check prefix goes to the server's cache too
    grade = grade_answer(question, "No idea, honestly; I would ask someone.", GradingTools(engine), explain=False)
    assert grade.evidence["open"] and grade.evidence["checks"] and grade.path == LOGPROBS_PATH and grade.notice == ""
    gone = ServerEngine(ServerSettings(f"http://127.0.0.1:{free_port()}", MODEL_ALIAS), probe=False)
    gone.capabilities.logprobs, gone.capabilities.top_logprobs = True, 20
    grade = grade_answer(question, "No idea, honestly; I would ask someone.",
                         GradingTools(gone, fallback=lambda: smol_engine), explain=False)
    assert grade.path == "local model" and grade.grader.startswith("SmolLM2") and grade.evidence["checks"]
    assert "refused the connection" in grade.notice and "local model" in grade.notice
    grade = grade_answer(question, "No idea, honestly; I would ask someone.", GradingTools(gone), explain=False)
    assert grade.path == "rubric" and grade.evidence["checks"] == {} and "rubric only" in grade.notice


def test_an_unknown_model_is_named_in_the_message(llama_server) -> None:
    with pytest.raises(ServerError) as failure:
        served(llama_server, model="no-such-model")
    assert "does not serve the model 'no-such-model'" in str(failure.value) and MODEL_ALIAS in str(failure.value)
    assert llama_server.url in str(failure.value)


def test_a_stopped_server_falls_back_to_the_local_model_then_to_the_rubric(questions, smol_engine) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ServerError, match="refused the connection"):
        ServerEngine(ServerSettings(url, "m"))
    engine = ServerEngine(ServerSettings(url, "m"), probe=False)
    engine.capabilities.logprobs, engine.capabilities.top_logprobs = True, 20  # it worked when it was probed
    question = questions[QID]
    grade = grade_answer(question, ANSWERS[0], GradingTools(engine, fallback=lambda: smol_engine), explain=False)
    assert grade.path == "local model" and grade.grader.startswith("SmolLM2") and grade.evidence["letters"]
    assert url in grade.notice and "refused the connection" in grade.notice and "local model" in grade.notice
    grade = grade_answer(question, ANSWERS[0], GradingTools(engine), explain=False)
    assert grade.path == "rubric" and grade.grader == "rubric only" and "rubric only" in grade.notice
    assert grade.verdict in ("correct", "partial", "incorrect")


def test_a_server_killed_mid_stream_keeps_the_verdict_and_says_so(smol_path, questions, tmp_path) -> None:
    server = LlamaServer(smol_path, tmp_path / "server.log")
    try:
        server.wait_ready()
        engine = served(server)
        verdicts = []

        def kill_at_first_piece(piece: str) -> None:
            if verdicts and server.proc.poll() is None and "because" in piece:
                server.proc.kill()
        grade = grade_answer(questions[QID], ANSWERS[0], GradingTools(engine), on_verdict=verdicts.append,
                             on_token=kill_at_first_piece)
    finally:
        server.stop()
    assert server.proc.returncode is not None and verdicts and grade.verdict == verdicts[0].verdict
    assert server.url in grade.notice and "The verdict stands" in grade.notice, grade.notice
    assert "You did not argue" in grade.explanation or "You argued" in grade.explanation


def test_malformed_json_names_the_server_and_the_problem(misbehaving) -> None:
    server = misbehaving("malformed")
    with pytest.raises(ServerError) as failure:
        ServerEngine(ServerSettings(server.url, "m"))
    assert str(failure.value).startswith(f"The model server {server.url} sent a reply to /models that is not valid JSON")


def test_a_401_says_the_key_is_wrong_and_never_shows_it(misbehaving) -> None:
    server = misbehaving("unauthorised", key="right-key")
    with pytest.raises(ServerError) as failure:
        ServerEngine(ServerSettings(server.url, "m", api_key=SECRET))
    message = str(failure.value)
    assert "401" in message and "API key" in message and server.url in message and SECRET not in message
    assert server.headers[-1]["Authorization"] == f"Bearer {SECRET}"  # it was sent, in the header only
    assert SECRET not in repr(ServerSettings(server.url, "m", api_key=SECRET))
    ready = ServerEngine(ServerSettings(server.url, "m", api_key="right-key"))
    assert ready.grading_path == LOGPROBS_PATH


def test_a_slow_first_token_fails_the_explanation_not_the_grade(misbehaving, questions) -> None:
    server = misbehaving("slow-first-token", delay=2.0)
    engine = ServerEngine(ServerSettings(server.url, "m", first_token_s=0.5))
    with pytest.raises(ServerError, match=r"sent no reply within 0.5 s"):
        engine.stream("s", "u", 20)
    grade = grade_answer(questions[QID], ANSWERS[0], GradingTools(engine))
    first = model_order(questions[QID]).options[0].id  # A, in the order the model reads, had the highest log-probability
    assert grade.path == LOGPROBS_PATH and grade.evidence["letters"][first] > 0.5
    assert "sent no reply within 0.5 s" in grade.notice and "The verdict stands" in grade.notice


def test_a_server_without_logprobs_grades_by_a_constrained_reply_and_records_it(misbehaving, questions) -> None:
    server = misbehaving("no-logprobs")
    engine = ServerEngine(ServerSettings(server.url, "m"))
    assert not engine.capabilities.logprobs and engine.capabilities.json_format == "json_schema"
    assert engine.grading_path == REPLY_PATH
    question = questions[QID]
    grade = grade_answer(question, ANSWERS[0], GradingTools(engine), explain=False)
    assert grade.path == REPLY_PATH
    # the tiny server always picks the second candidate: option B in the order the model reads, and "No" to every check
    second = model_order(question).options[1].id
    assert max(grade.evidence["letters"], key=grade.evidence["letters"].get) == second
    assert set(grade.evidence["checks"].values()) <= {0.25}
    assert any(r.get("response_format", {}).get("type") == "json_schema" for r in server.requests)


def test_urls_are_checked_before_anything_is_sent() -> None:
    from app.llm.server_client import check_url
    assert check_url("http://127.0.0.1:8080") is None and check_url("https://gpu-box/v1") is None
    assert "http:// or https://" in check_url("127.0.0.1:8080")
    assert "user name or password" in check_url(f"http://me:{SECRET}@gpu-box:8080")
    with pytest.raises(ServerError) as failure:
        ServerClient(ServerSettings(f"http://me:{SECRET}@gpu-box:8080", "m"))
    assert SECRET not in str(failure.value)


def test_a_refused_connection_is_retried_with_backoff_then_reported(monkeypatch) -> None:
    from app.llm import server_client
    monkeypatch.setattr(server_client, "BACKOFF_S", 0.01)
    client = ServerClient(ServerSettings(f"http://127.0.0.1:{free_port()}", "m"))
    calls = []
    real_open = client._open
    monkeypatch.setattr(client, "_open", lambda *a: calls.append(1) or real_open(*a))
    with pytest.raises(ServerError, match="refused the connection"):
        client.models()
    assert len(calls) == 1 + server_client.RETRIES


def test_https_verifies_certificates_and_reports_a_failure(tmp_path) -> None:
    import ssl
    from http.server import BaseHTTPRequestHandler, HTTPServer
    cert, key = _self_signed(tmp_path)
    httpd = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    worker = threading.Thread(target=httpd.handle_request, daemon=True)
    worker.start()
    try:
        with pytest.raises(ServerError, match="certificate that could not be verified"):
            ServerClient(ServerSettings(f"https://127.0.0.1:{httpd.server_address[1]}", "m")).models()
    finally:
        worker.join(5)
        httpd.server_close()


def _self_signed(folder: Path) -> tuple[str, str]:
    import subprocess
    cert, key = folder / "cert.pem", folder / "key.pem"
    done = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                           str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("openssl is not available to make a test certificate")
    return str(cert), str(key)


def test_the_key_stays_out_of_user_db_exports_and_logs(misbehaving, bank_in_data_dir, caplog, capfd,
                                                       questions) -> None:
    caplog.set_level(logging.DEBUG)
    server = misbehaving("unauthorised", key="other-key")
    db = open_user_db(paths.user_db_path())
    where = server_config.use_server(db, server.url, "m", SECRET)
    assert "readable only by you" in where
    mode = stat.S_IMODE(os.stat(keystore.key_file()).st_mode)
    assert mode == 0o600 and keystore.load_key(server.url) == SECRET
    settings = server_config.server_settings(db)
    assert settings.api_key == SECRET and settings.model == "m"
    library, mailbox = open_library(), Mailbox()
    statuses: list[tuple[str, str]] = []
    dispatcher = GradingDispatcher(library, mailbox, on_status=lambda state, message: statuses.append((state, message)))
    try:
        dispatcher.use_server(settings, None)
        assert mailbox.run_until(lambda: statuses and statuses[-1][0] == "failed")
        assert "401" in statuses[-1][1] and SECRET not in statuses[-1][1]
        failures: list[str] = []
        session = PracticeSession(db, dispatcher, _Listener(failures))
        session.show(questions[QID])
        session.submit(ANSWERS[0])
        assert mailbox.run_until(lambda: attempts(db, QID)[0]["verdict"] != "pending")
    finally:
        dispatcher.shutdown()
    row = attempts(db, QID)[0]
    assert row["answer"] == ANSWERS[0]  # kept, and graded from the rubric after the server refused
    db.conn.close()
    export = bank_in_data_dir.parent / "export.json"
    write_export(open_user_db(paths.user_db_path()), export)
    assert SECRET.encode() not in paths.user_db_path().read_bytes()
    assert SECRET not in export.read_text(encoding="utf-8")
    logged = caplog.text + "".join(json.dumps(s) for s in statuses) + "".join(capfd.readouterr())
    logs = paths.data_dir() / "logs"
    logged += "".join(p.read_text(errors="replace") for p in logs.glob("*")) if logs.is_dir() else ""
    assert SECRET not in logged and server.url in logged


class _Listener:
    def __init__(self, failures: list[str]):
        self.failures = failures

    def on_verdict(self, grade) -> None:
        pass

    def on_token(self, piece: str) -> None:
        pass

    def on_final(self, grade, review) -> None:
        pass

    def on_failed(self, message: str) -> None:
        self.failures.append(message)


def test_the_dispatcher_falls_back_to_the_local_file_when_the_server_goes_away(misbehaving, bank_in_data_dir,
                                                                                smol_path, questions) -> None:
    server = misbehaving("ok")
    library, mailbox = open_library(), Mailbox()
    statuses: list[tuple[str, str]] = []
    dispatcher = GradingDispatcher(library, mailbox, on_status=lambda state, message: statuses.append((state, message)))
    db = open_user_db(paths.user_db_path())
    try:
        dispatcher.use_server(ServerSettings(server.url, "m"), smol_path)
        assert mailbox.run_until(lambda: statuses and statuses[-1][0] == "ready")
        assert "server logprobs" in statuses[-1][1] and dispatcher.local_engine is None  # not loaded until needed
        server.stop()
        session = PracticeSession(db, dispatcher, _Listener([]))
        session.show(questions[QID])
        session.submit(ANSWERS[0])
        assert mailbox.run_until(lambda: not session.grading, timeout=300)
    finally:
        dispatcher.shutdown()
    grade = json.loads(attempts(db, QID)[0]["grade_json"])
    assert grade["path"] == "local model" and grade["grader"].startswith("SmolLM2")
    assert server.url in grade["notice"] and "graded by the local model" in grade["notice"]


def test_grade_on_the_command_line_through_the_server(llama_server, bank_in_data_dir) -> None:
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "app", "grade", "--question", QID, "--answer", ANSWERS[0], "--json",
                           "--server", llama_server.url, "--server-model", MODEL_ALIAS],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    grade = json.loads(done.stdout)
    assert grade["path"] == LOGPROBS_PATH and grade["grader"] == f"{MODEL_ALIAS} on {llama_server.url}"
    assert "grading by server logprobs" in done.stderr
