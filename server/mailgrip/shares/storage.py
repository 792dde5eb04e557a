"""Storage of file bytes under random keys: an interface and its file-system implementation.

A cloud implementation (Azure Blob Storage: staged blocks committed as a block list, ranged
downloads) fits the same interface; only ``FileSystemStorage`` exists so far.
"""

from __future__ import annotations

import fcntl
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


class OffsetMismatch(Exception):
    """A chunk does not start where the partial object ends; ``size`` is where it ends."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the partial object is {size} bytes long")
        self.size = size


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

    @abstractmethod
    def partial_size(self, key: str) -> int:
        """Return how many bytes the partial object ``key`` has; 0 when it does not exist."""

    @abstractmethod
    def append_partial(self, key: str, offset: int, stream: BinaryIO, length: int) -> int:
        """Append exactly ``length`` bytes from ``stream`` to the partial object at ``offset``.

        Concurrent appends to one key are serialized, so two clients that resume at the same
        offset cannot interleave their bytes.

        :return: the partial object's new size.
        :raise OffsetMismatch: the partial object does not end at ``offset``, or the object was
            already finished; ``size`` is then its full size.
        :raise EOFError: ``stream`` ended early; the bytes read are kept, so a client resumes.
        """

    @abstractmethod
    def finish_partial(self, key: str) -> StoredObject:
        """Make the partial object readable under ``key`` and return its size and SHA-256.

        :raise StoredObjectMissing: no partial object exists under ``key``.
        """

    @abstractmethod
    def delete_partial(self, key: str) -> None:
        """Remove the partial object; a key without one is ignored."""

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

    def partial_size(self, key: str) -> int:
        try:
            return self._partial_path(key).stat().st_size
        except FileNotFoundError:
            return 0

    def append_partial(self, key: str, offset: int, stream: BinaryIO, length: int) -> int:
        path = self._partial_path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as handle:
            # An exclusive lock held while checking the size and writing makes the check and
            # the append one step for every process that shares this folder.
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            finished = self._finished_size(key)
            if finished is not None:
                # The object was finished after a caller read its state, and the open above
                # created a new, empty partial object, which must not outlive this call.
                path.unlink(missing_ok=True)
                raise OffsetMismatch(finished)
            size = os.fstat(handle.fileno()).st_size
            if size != offset:
                raise OffsetMismatch(size)
            remaining = length
            while remaining:
                chunk = stream.read(min(READ_CHUNK_BYTES, remaining))
                if not chunk:
                    handle.flush()
                    raise EOFError(f"the body ended {remaining} bytes early")
                handle.write(chunk)
                remaining -= len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
            return size + length

    def _finished_size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def finish_partial(self, key: str) -> StoredObject:
        partial = self._partial_path(key)
        digest = hashlib.sha256()
        size = 0
        try:
            handle = partial.open("rb")
        except FileNotFoundError:
            raise StoredObjectMissing(key) from None
        with handle:
            while chunk := handle.read(READ_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        final = self.path(key)
        final.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(partial, final)
        return StoredObject(key, size, digest.hexdigest())

    def delete_partial(self, key: str) -> None:
        self._partial_path(key).unlink(missing_ok=True)

    def _partial_path(self, key: str) -> Path:
        self.path(key)  # validates the key
        return self.root / ".resumable" / key

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
