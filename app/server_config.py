"""The grading model choice in the user's settings: a local file (the default) or a model server (URL, model name,
timeout; its API key lives in app.keystore, never in user.db)."""
from __future__ import annotations

from app import keystore
from app.llm.server_client import DEFAULT_TIMEOUT_S, ServerSettings
from app.storage import userdb

SOURCE = "grading_source"   # "local" or "server"
SERVER = "grading_server"   # {"url": ..., "model": ..., "timeout_s": ...}


def server_settings(db) -> ServerSettings | None:
    """The model server to grade with, or None when grading uses a local file."""
    if userdb.get_setting(db, SOURCE, "local") != "server":
        return None
    stored = userdb.get_setting(db, SERVER, {}) or {}
    url = str(stored.get("url", "")).strip()
    if not url:
        return None
    return ServerSettings(url, str(stored.get("model", "")), keystore.load_key(url),
                          float(stored.get("timeout_s", DEFAULT_TIMEOUT_S)))


def stored_server(db) -> dict:
    """What the settings dialog shows (the key is not part of it)."""
    return dict(userdb.get_setting(db, SERVER, {}) or {})


def use_server(db, url: str, model: str, api_key: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """Grade through this server from now on; returns where the key was kept."""
    where = keystore.save_key(url, api_key)
    with db.atomic():
        userdb.set_setting(db, SERVER, {"url": url, "model": model, "timeout_s": timeout_s})
        userdb.set_setting(db, SOURCE, "server")
    return where


def use_local(db) -> None:
    userdb.set_setting(db, SOURCE, "local")
