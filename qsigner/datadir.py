"""The one data directory: created 0700, files 0600, atomic writes, one signer at a time.

Everything qsigner persists lives here (key store, audit log, lock file) and
nowhere else. Writes are atomic -- a temporary file in the same directory,
fsync, rename, fsync of the directory -- so a kill -9 at any instant leaves
either the old or the new file, never a torn one. An exclusive ``flock`` on
``lock`` stops a second signer from using the same directory.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from types import TracebackType

from .errors import ConfigError, StateError

__all__ = ["DataDir"]


class DataDir:
    """The signer's data directory; use as a context manager to hold the lock."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"<DataDir {self.path}>"

    def open(self) -> "DataDir":
        """Create the directory (0700) if needed, check its mode, and take the lock.

        Raises:
            ConfigError: it cannot be created, is not a directory, is open to
                group or others, or another signer holds the lock.
        """
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            mode = self.path.stat()
        except OSError as exc:
            raise ConfigError(f"QSIGNER_DATA_DIR: cannot create {self.path}: {exc.strerror}",
                              variable="QSIGNER_DATA_DIR") from None
        if not stat.S_ISDIR(mode.st_mode):
            raise ConfigError(f"QSIGNER_DATA_DIR: {self.path} is not a directory",
                              variable="QSIGNER_DATA_DIR")
        if mode.st_mode & 0o077:
            raise ConfigError(f"QSIGNER_DATA_DIR: {self.path} is open to group or others; "
                              "chmod 700 it", variable="QSIGNER_DATA_DIR")
        self._lock()
        return self

    def _lock(self) -> None:
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ConfigError(f"QSIGNER_DATA_DIR: {self.path} is locked by another running "
                              "signer", variable="QSIGNER_DATA_DIR") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the lock."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "DataDir":
        return self.open()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def file(self, name: str) -> Path:
        """Return the path of ``name`` inside the directory."""
        return self.path / name

    def read(self, name: str) -> bytes | None:
        """Return the bytes of ``name``, or None if it does not exist.

        Raises:
            StateError: it exists but cannot be read.
        """
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{self.path / name}: cannot read: {exc.strerror}") from None

    def write_atomic(self, name: str, data: bytes) -> None:
        """Replace ``name`` with ``data`` atomically (temp file, fsync, rename, fsync dir)."""
        tmp = self.path / f".{name}.tmp-{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path / name)
        self._fsync_dir()

    def append_line(self, name: str, line: str) -> None:
        """Append one line to ``name`` (created 0600) and fsync it."""
        fd = os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.rstrip("\n").encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def _fsync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
