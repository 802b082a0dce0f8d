"""Layering: the core runs without Qt; llama_cpp, sqlite_utils and PySide6 each stay in their package."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path


APP = Path(__file__).resolve().parent.parent / "app"

IMPORT_ALL_BUT_UI = """
import json, pkgutil, sys, importlib
import app
names = []
for info in pkgutil.walk_packages(app.__path__, "app."):
    if info.name == "app.ui" or info.name.startswith("app.ui."):
        continue
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({"imported": names, "qt": sorted(m for m in sys.modules if m.split(".")[0] == "PySide6")}))
"""


def imported_roots(path: Path) -> set[str]:
    """Top-level module names a source file imports, anywhere in it (function-level imports too)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def importers_of(root: str) -> set[str]:
    return {str(p.relative_to(APP.parent)) for p in APP.rglob("*.py") if root in imported_roots(p)}


def test_everything_but_ui_imports_without_qt() -> None:
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL_BUT_UI], cwd=APP.parent,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"app.core.rubric", "app.llm.grader", "app.storage.userdb", "app.rag.index", "app.cli",
            "app.library"} <= set(report["imported"])
    assert report["qt"] == [], f"PySide6 loaded by a non-UI module: {report['qt']}"


def test_pyside6_only_in_ui() -> None:
    assert {f for f in importers_of("PySide6") if not f.startswith("app/ui/")} == set()


def test_llama_cpp_only_in_llm() -> None:
    users = importers_of("llama_cpp")
    assert users, "the scan found no llama_cpp import at all"
    assert {f for f in users if not f.startswith("app/llm/")} == set()


def test_sqlite_utils_only_in_storage() -> None:
    # app/rag/index.py opens its Retriever through sqlite_utils.Database: tolerated here, reported as a
    # layering deviation (ARCHITECTURE.md: storage/ is the only package that imports sqlite_utils).
    users = importers_of("sqlite_utils")
    assert users, "the scan found no sqlite_utils import at all"
    assert {f for f in users if not f.startswith("app/storage/")} <= {"app/rag/index.py"}


def test_rag_does_not_import_sqlite_utils() -> None:
    assert "app/rag/index.py" not in importers_of("sqlite_utils")


def test_core_imports_no_other_layer() -> None:
    for path in (APP / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for layer in ("app.storage", "app.rag", "app.llm", "app.ui", "app.content", "sqlite", "llama_cpp", "PySide6"):
            assert f"import {layer}" not in text and f"from {layer}" not in text, f"{path.name} imports {layer}"


GRADE_WITHOUT_LLAMA = """
import json, sys
from pathlib import Path
from app.library import open_library
from app.llm.grader import GradingTools, embedding_similarity, grade_answer
from app.llm.remote import RemoteChatEngine
library = open_library()
engine = RemoteChatEngine(Path(sys.argv[1]))
tools = GradingTools(engine, embedding_similarity(library.embedder), library.retrieve)
grade = grade_answer(library.by_id["fine-tuning-vs-rag-001"], "RAG, because the wiki changes daily.", tools)
print(json.dumps({"grader": grade.grader, "llama": "llama_cpp" in sys.modules}))
"""


def test_the_app_process_grades_without_loading_llama_cpp(smol_path: Path, bank_in_data_dir: Path) -> None:
    """llama.cpp runs only in the model processes: a native crash there cannot take this process down."""
    result = subprocess.run([sys.executable, "-c", GRADE_WITHOUT_LLAMA, str(smol_path)], cwd=APP.parent,
                            capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["grader"].startswith("SmolLM2") and report["llama"] is False
