"""Storage of file bytes under random keys: an interface and its file-system implementation.

A cloud implementation (Azure Blob Storage: staged blocks committed as a block list, ranged
downloads) fits the same interface; only ``FileSystemStorage`` exists so far.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from ..settings import current_settings

READ_CHUNK_BYTES = 64 * 1024
_KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class StoredObject:
    """Bytes saved under ``key``: their size and SHA-256 hex digest."""

    key: str
    size: int
    sha256: str


class SizeLimitExceeded(Exception):
    """A write went past the byte limit given when the object was created."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the object is larger than the limit of {limit} bytes")
        self.limit = limit


class StoredObjectMissing(Exception):
    """No bytes are stored under a key that the database refers to."""


def new_key() -> str:
    """Return a random storage key; keys are never derived from file names."""
    return secrets.token_hex(16)


class StorageWriter(ABC):
    """A new object being written; nothing is readable under its key before ``commit``.

    Use it as a context manager: leaving the block without a commit aborts the write.
    """

    def __init__(self, key: str, limit: int | None) -> None:
        self.key = key
        self.limit = limit
        self.size = 0
        self._digest = hashlib.sha256()
        self._closed = False

    def write(self, data: bytes) -> None:
        """Append ``data``.

        :raise SizeLimitExceeded: the object would grow past its limit; nothing more is written.
        """
        if self.limit is not None and self.size + len(data) > self.limit:
            raise SizeLimitExceeded(self.limit)
        self._append(data)
        self._digest.update(data)
        self.size += len(data)

    def commit(self) -> StoredObject:
        """Make the bytes readable under ``key`` and return what was stored."""
        self._finish()
        self._closed = True
        return StoredObject(self.key, self.size, self._digest.hexdigest())

    def abort(self) -> None:
        """Discard everything written so far; safe to call more than once."""
        if not self._closed:
            self._closed = True
            self._discard()

    def __enter__(self) -> StorageWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()

    @abstractmethod
    def _append(self, data: bytes) -> None: ...

    @abstractmethod
    def _finish(self) -> None: ...

    @abstractmethod
    def _discard(self) -> None: ...


class Storage(ABC):
    """A store of file bytes under random keys."""

    @abstractmethod
    def create(self, limit: int | None = None) -> StorageWriter:
        """Start a new object under a new random key, at most ``limit`` bytes long."""

    @abstractmethod
    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        """Open ``length`` bytes (all when None) from offset ``start`` for reading.

        :raise StoredObjectMissing: nothing is stored under ``key``.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a key with nothing stored under it is ignored."""

    def save(self, stream: BinaryIO, limit: int | None = None) -> StoredObject:
        """Copy ``stream`` into a new object in chunks, never holding it whole in memory.

        :raise SizeLimitExceeded: the stream is longer than ``limit``; nothing is kept.
        """
        with self.create(limit) as writer:
            while chunk := stream.read(READ_CHUNK_BYTES):
                writer.write(chunk)
            return writer.commit()


class FileSystemStorage(Storage):
    """Objects as files under ``root``, spread over subfolders named by the key's first byte.

    A write goes to a temporary file in ``root/.partial`` and is renamed into place on commit,
    so a reader never sees half a file. Files are created with mode 0o600.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def create(self, limit: int | None = None) -> StorageWriter:
        partial = self.root / ".partial"
        partial.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = new_key()
        # mkstemp creates the file with mode 0o600 and fails rather than reuse a name.
        fd, temp_path = tempfile.mkstemp(dir=partial, prefix=key + ".")
        return _FileWriter(key, limit, os.fdopen(fd, "wb"), Path(temp_path), self.path(key))

    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError:
            raise StoredObjectMissing(key) from None
        handle.seek(start)
        if length is None:
            return handle
        return _RangeReader(handle, length)  # type: ignore[return-value]

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        """Return the file of ``key``.

        :raise ValueError: ``key`` is not a key that ``new_key`` makes, so it could name a
            path outside ``root``.
        """
        if not _KEY_PATTERN.fullmatch(key):
            raise ValueError(f"{key!r} is not a storage key")
        return self.root / key[:2] / key


class _FileWriter(StorageWriter):
    def __init__(
        self, key: str, limit: int | None, handle: BinaryIO, temp_path: Path, final_path: Path
    ) -> None:
        super().__init__(key, limit)
        self._handle = handle
        self._temp_path = temp_path
        self._final_path = final_path

    def _append(self, data: bytes) -> None:
        self._handle.write(data)

    def _finish(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._final_path.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(self._temp_path, self._final_path)

    def _discard(self) -> None:
        self._handle.close()
        self._temp_path.unlink(missing_ok=True)


class _RangeReader(io.RawIOBase):
    """Reads at most ``remaining`` bytes from an open file, then reports the end."""

    def __init__(self, handle: BinaryIO, remaining: int) -> None:
        super().__init__()
        self._handle = handle
        self._remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._remaining <= 0:
            return 0
        view = memoryview(buffer)[: self._remaining]
        count = self._handle.readinto(view)  # type: ignore[attr-defined]
        self._remaining -= count
        return count

    def close(self) -> None:
        self._handle.close()
        super().close()


def current_storage() -> Storage:
    """Return the storage of the current application, created on first use."""
    storage = current_app.extensions.get("mailgrip.storage")
    if storage is None:
        storage = FileSystemStorage(current_settings().storage_dir)
        current_app.extensions["mailgrip.storage"] = storage
    return storage
