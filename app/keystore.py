"""Where a model server's API key is kept: the OS keyring when one works, else a file in the data folder that only
this user can read (0600). Never in user.db, so never in an export; callers never log it."""
from __future__ import annotations

import json
import os
from pathlib import Path

from app import paths

SERVICE = "interview-coach model server"
KEY_FILE = "server-keys.json"


def _keyring():
    """The keyring module when a real backend is available (a headless Linux often has none), else None."""
    try:
        import keyring
        from keyring.backends import fail
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - no keyring package, or a backend that fails to initialise
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return keyring


def key_file() -> Path:
    return paths.data_dir() / KEY_FILE


def where_kept() -> str:
    return "the system keyring" if _keyring() is not None else f"{key_file()} (readable only by you)"


def save_key(server: str, key: str) -> str:
    """Keep (or with an empty key, forget) the key for a server URL; returns where it went."""
    ring = _keyring()
    if ring is not None:
        try:
            if key:
                ring.set_password(SERVICE, server, key)
            else:
                _forget_in_ring(ring, server)
            _write_file({k: v for k, v in _read_file().items() if k != server})
            return "the system keyring"
        except Exception:  # noqa: BLE001, S110 - a locked or broken keyring: fall back to the private file
            pass
    keys = _read_file()
    if key:
        keys[server] = key
    else:
        keys.pop(server, None)
    _write_file(keys)
    return f"{key_file()} (readable only by you)"


def load_key(server: str) -> str:
    ring = _keyring()
    if ring is not None:
        try:
            found = ring.get_password(SERVICE, server)
            if found:
                return found
        except Exception:  # noqa: BLE001, S110 - a locked keyring: the file may still hold it
            pass
    return _read_file().get(server, "")


def _forget_in_ring(ring, server: str) -> None:
    try:
        ring.delete_password(SERVICE, server)
    except Exception:  # noqa: BLE001, S110 - nothing stored
        pass


def _read_file() -> dict[str, str]:
    try:
        data = json.loads(key_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_file(keys: dict[str, str]) -> None:
    path = key_file()
    if not keys:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_suffix(".tmp")
    # created 0600 from the start: the key is never readable by others, not even for a moment
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(keys, out)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
