"""File-system storage: random keys, atomic writes, limits, ranges and permissions."""

from __future__ import annotations

import hashlib
import io
import stat

import pytest

from mailgrip.shares.storage import (
    FileSystemStorage,
    OffsetMismatch,
    SizeLimitExceeded,
    StoredObjectMissing,
    new_key,
)

DATA = b"0123456789" * 10_000


def _files(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_save_returns_key_size_and_digest(tmp_path):
    storage = FileSystemStorage(tmp_path)

    stored = storage.save(io.BytesIO(DATA))

    assert len(stored.key) == 32
    assert stored.size == len(DATA)
    assert stored.sha256 == hashlib.sha256(DATA).hexdigest()
    assert storage.path(stored.key).read_bytes() == DATA


def test_saved_file_is_private(tmp_path):
    storage = FileSystemStorage(tmp_path)

    stored = storage.save(io.BytesIO(DATA))

    assert stat.S_IMODE(storage.path(stored.key).stat().st_mode) == 0o600


def test_keys_are_random(tmp_path):
    storage = FileSystemStorage(tmp_path)

    keys = {storage.save(io.BytesIO(b"same")).key for _ in range(20)}

    assert len(keys) == 20


def test_nothing_visible_before_commit(tmp_path):
    storage = FileSystemStorage(tmp_path)

    with storage.create() as writer:
        writer.write(b"partial")
        assert not storage.path(writer.key).exists()
        stored = writer.commit()

    assert storage.path(stored.key).read_bytes() == b"partial"


def test_abort_leaves_nothing(tmp_path):
    storage = FileSystemStorage(tmp_path)

    with storage.create() as writer:
        writer.write(b"never kept")

    assert _files(tmp_path) == []


def test_limit_exceeded_leaves_nothing(tmp_path):
    storage = FileSystemStorage(tmp_path)

    with pytest.raises(SizeLimitExceeded):
        storage.save(io.BytesIO(DATA), limit=len(DATA) - 1)

    assert _files(tmp_path) == []


def test_limit_allows_exact_size(tmp_path):
    storage = FileSystemStorage(tmp_path)

    assert storage.save(io.BytesIO(DATA), limit=len(DATA)).size == len(DATA)


def test_open_reads_range(tmp_path):
    storage = FileSystemStorage(tmp_path)
    stored = storage.save(io.BytesIO(DATA))

    with storage.open(stored.key, 15, 20) as reader:
        first = reader.read(7)
        rest = reader.read()

    assert first + rest == DATA[15:35]


def test_open_reads_whole_file(tmp_path):
    storage = FileSystemStorage(tmp_path)
    stored = storage.save(io.BytesIO(DATA))

    with storage.open(stored.key) as reader:
        assert reader.read() == DATA


def test_open_missing_raises(tmp_path):
    storage = FileSystemStorage(tmp_path)

    with pytest.raises(StoredObjectMissing):
        storage.open("0" * 32)


def test_delete_removes_file(tmp_path):
    storage = FileSystemStorage(tmp_path)
    stored = storage.save(io.BytesIO(DATA))

    storage.delete(stored.key)
    storage.delete(stored.key)

    assert _files(tmp_path) == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "report.pdf", "A" * 32, ""])
def test_path_rejects_foreign_keys(tmp_path, key):
    with pytest.raises(ValueError, match="not a storage key"):
        FileSystemStorage(tmp_path).path(key)


def test_append_after_finish_conflicts(tmp_path):
    # A chunk request that read its upload before another request completed it arrives late.
    storage = FileSystemStorage(tmp_path)
    key = new_key()
    storage.append_partial(key, 0, io.BytesIO(b"abcd"), 4)
    storage.finish_partial(key)

    with pytest.raises(OffsetMismatch) as raised:
        storage.append_partial(key, 0, io.BytesIO(b"ab"), 2)

    assert raised.value.size == 4
    assert storage.partial_size(key) == 0
    assert not (tmp_path / ".resumable" / key).exists()
    with storage.open(key) as stored:
        assert stored.read() == b"abcd"
