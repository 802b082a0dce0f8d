"""One app per data folder: the GUI holds a lock on the folder while it runs; a second launch asks the first to come
forward instead of opening the same database twice, and commands that write the user's data refuse meanwhile."""
from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

LOCK_NAME = "instance.lock"


class FolderLock:
    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True when this process now holds the folder (the OS frees it when the process ends, however it ends)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return True  # a folder that cannot be written cannot be written twice either: a read-only session
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def held_by_another(folder: Path) -> bool:
    lock = FolderLock(folder)
    if lock.acquire():
        lock.release()
        return False
    return True


def server_name(folder: Path) -> str:
    """The local socket the running window listens on, one per data folder."""
    return "interview-coach-" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
