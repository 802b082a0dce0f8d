"""Where user data, the compiled bank, the content sources and the models live."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "COACH_DATA_DIR"
MODELS_ENV = "COACH_MODELS_DIR"
CONTENT_ENV = "COACH_CONTENT_DIR"


def data_dir() -> Path:
    """The user's data directory: $COACH_DATA_DIR if set, else the platform's user-data dir."""
    override = os.environ.get(DATA_ENV)
    path = Path(override) if override else Path(platformdirs.user_data_dir("interview-coach", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_db_path() -> Path:
    return data_dir() / "user.db"


def bank_db_path() -> Path:
    """The compiled bank and retrieval index; rebuildable at any time from content/."""
    return data_dir() / "bank.db"


def content_dir() -> Path:
    override = os.environ.get(CONTENT_ENV)
    return Path(override) if override else REPO_ROOT / "content"


def models_dir() -> Path:
    override = os.environ.get(MODELS_ENV)
    return Path(override) if override else REPO_ROOT / "models"
