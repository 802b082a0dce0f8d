"""Shared fixtures: offscreen Qt, a fresh user-data dir per test, the repository's real models."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything can import Qt

import shutil
import sqlite3
from pathlib import Path

import pytest

from app import paths
from app.content.load import load_content
from app.library import Library
from app.storage.userdb import open_user_db

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
CONTENT_DIR = REPO_ROOT / "content"
SMOL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
QWEN_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EMBED_NAME = "embed/all-MiniLM-L6-v2.q8_0.gguf"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: uses the 1.5B default grading model (runs by default)")


def _model(relative: str) -> Path:
    path = MODELS_DIR / relative
    if not path.is_file():
        pytest.skip(f"{path} is missing: run python -m app setup-models first")
    return path


@pytest.fixture(autouse=True)
def fresh_readings():
    """Each test reads with the model afresh: remembered readings (yes_no.remembered) would let a test that makes
    the model fail grade from an earlier test's readings instead."""
    from app.llm.yes_no import forget_readings
    forget_readings()
    yield


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own COACH_DATA_DIR; app.paths reads it on each call."""
    path = tmp_path / "coach-data"
    path.mkdir()
    monkeypatch.setenv("COACH_DATA_DIR", str(path))
    monkeypatch.delenv("COACH_MODELS_DIR", raising=False)
    monkeypatch.delenv("COACH_CONTENT_DIR", raising=False)
    return path


@pytest.fixture
def db():
    """The user database in this test's own data folder."""
    return open_user_db(paths.user_db_path())


@pytest.fixture(scope="module")
def library(content_dir):
    """The real bank and notes, with no index and no models: fast, for views that need no search."""
    content = load_content(content_dir, with_labels=False)
    return Library(list(content.questions), list(content.notes.values()), None, None)


@pytest.fixture
def no_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models folder: no chat or embedding model, so grades are rubric only and search is by keywords."""
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("COACH_MODELS_DIR", str(empty))
    return empty


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS_DIR


@pytest.fixture(scope="session")
def content_dir() -> Path:
    return CONTENT_DIR


@pytest.fixture(scope="session")
def smol_path() -> Path:
    return _model(SMOL_NAME)


@pytest.fixture(scope="session")
def qwen_path() -> Path:
    return _model(QWEN_NAME)


@pytest.fixture(scope="session")
def embed_path() -> Path:
    return _model(EMBED_NAME)


@pytest.fixture(scope="session")
def embedder(embed_path: Path):
    from app.llm.embedder import Embedder
    return Embedder(embed_path)


@pytest.fixture(scope="session")
def smol_engine(smol_path: Path):
    from app.llm.engine import ChatEngine
    return ChatEngine(smol_path)


@pytest.fixture(scope="session")
def questions(content_dir: Path) -> dict:
    from app.content.load import load_content
    return {q.id: q for q in load_content(content_dir, with_labels=False).questions}


@pytest.fixture
def content_copy(tmp_path: Path, content_dir: Path) -> Path:
    """A private copy of content/ that a test may break."""
    target = tmp_path / "content"
    shutil.copytree(content_dir, target)
    return target


@pytest.fixture(scope="session")
def indexed_bank(tmp_path_factory: pytest.TempPathFactory, content_dir: Path, embedder):
    """The real content compiled and indexed once with the real embedder: (bank file, first BuildReport).

    Embedding every chunk is the slow part, so tests copy this file rather than re-embed."""
    from app.content.compile import compile_bank
    from app.rag.index import sync_index
    from app.storage.bank import load_notes, open_bank
    path = tmp_path_factory.mktemp("indexed-bank") / "bank.db"
    db = open_bank(path)
    compile_bank(db, content_dir)
    report = sync_index(db, load_notes(db), embedder, embedder.model_id)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path, report


def copy_bank(source: Path, target: Path) -> Path:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


@pytest.fixture
def bank_copy(indexed_bank, tmp_path: Path) -> Path:
    return copy_bank(indexed_bank[0], tmp_path / "bank-copy.db")


@pytest.fixture
def bank_in_data_dir(indexed_bank, data_dir: Path) -> Path:
    """The prebuilt bank placed where the app looks for it (bank.db in COACH_DATA_DIR)."""
    return copy_bank(indexed_bank[0], data_dir / "bank.db")


@pytest.fixture
def services(bank_in_data_dir: Path):
    """The real library and user database, and a dispatcher whose results wait in a mailbox for this thread."""
    from app.library import open_library
    from app.sessions.dispatcher import GradingDispatcher, Mailbox
    library, mailbox, statuses = open_library(), Mailbox(), []
    dispatcher = GradingDispatcher(library, mailbox, on_status=lambda state, message: statuses.append(state))
    db = open_user_db(paths.user_db_path())
    yield library, dispatcher, mailbox, db, statuses
    dispatcher.shutdown()
