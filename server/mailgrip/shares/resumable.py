"""Resumable uploads into a draft share: one file sent in ``Content-Range`` chunks.

A client announces a file (name, size, content type), then sends its bytes in order with
``PUT`` and ``Content-Range: bytes <first>-<last>/<size>``. After a lost connection it reads
how many bytes arrived and continues from there. The last chunk turns the upload into a file
of the share.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..access.models import Block
from ..db import db
from ..errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from ..mirror.models import Mailbox
from ..settings import Settings
from ..tracking.models import Event
from .drafts import check_open_draft, check_room_for_chunk, check_room_for_upload
from .models import File, Share, Upload
from .names import clean_name, unique_names
from .storage import OffsetMismatch, Storage, StoredObjectMissing, new_key
from .uploads import normalize_content_type

log = logging.getLogger(__name__)

# Uploads of one share that finish together may pick the same name, and the database's unique
# constraint then rejects all but one. Each retry reads the names committed meanwhile.
MAX_NAMING_ATTEMPTS = 20

# RFC 9110 section 14.4: "bytes" first-last "/" complete-length, with last inclusive.
_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19})")


@dataclass(frozen=True)
class UploadLimits:
    """The limits on a draft share's uploads, from the settings."""

    file_bytes: int  # the largest file
    files: int  # the maximum number of uploads, complete or not
    share_bytes: int  # the largest total of the uploads' sizes

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        return cls(
            file_bytes=settings.max_upload_bytes,
            files=settings.max_files_per_share,
            share_bytes=settings.max_share_bytes,
        )


@dataclass(frozen=True)
class ChunkRange:
    """The byte range of one chunk: ``first`` and ``last`` inclusive, of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def owned_share(mailbox: Mailbox, share_id: str) -> Share:
    """Return the share ``share_id`` if ``mailbox`` owns it.

    :raise NotFound: no such share, or another mailbox's, which must look the same.
    """
    share = db.session.get(Share, share_id)
    if share is None or share.owner_mailbox_id != mailbox.id:
        raise NotFound(f"Share {share_id!r} was not found among your shares.")
    return share


def owned_upload(mailbox: Mailbox, share_id: str, upload_id: int) -> Upload:
    """Return upload ``upload_id`` of the share ``share_id`` if ``mailbox`` owns the share.

    :raise NotFound: no such share or upload, or they belong to another mailbox.
    """
    share = owned_share(mailbox, share_id)
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.share_id != share.id:
        raise NotFound(f"Upload {upload_id} was not found in share {share_id!r}.")
    return upload


def start_upload(
    share: Share,
    name: object,
    size: object,
    content_type: object,
    limits: UploadLimits,
    storage: Storage,
) -> Upload:
    """Add an upload of ``size`` bytes to ``share``; the caller commits.

    An empty file has no chunk that could complete it, so it is complete at once.

    :raise BadRequest: a value is missing or invalid.
    :raise Conflict: the share is not an open draft, or has ``limits.files`` uploads.
    :raise PayloadTooLarge: ``size`` is larger than ``limits.file_bytes``, or would make the
        share larger than ``limits.share_bytes``.
    """
    check_open_draft(share)
    max_files = limits.files
    # NOTE: two uploads started at the same moment may both pass this count.
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Upload).where(Upload.share_id == share.id)
    )
    if count >= max_files:
        raise Conflict(
            f"Share {share.id} already has {count} files, and the limit is {max_files} files "
            "per share. Send the other files in another message, or ask an administrator to "
            "raise MAILGRIP_MAX_FILES_PER_SHARE.",
            limit=max_files,
        )
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Send the file's name as a non-empty string in 'name'.", field="name")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BadRequest(
            f"size={size!r} is not valid; send the file's size in bytes as a whole number.",
            field="size",
        )
    limit = limits.file_bytes
    if size > limit:
        raise PayloadTooLarge(
            f"The file is too large: {size} bytes, and the limit is {limit} bytes "
            f"({limit / 2**20:.4g} MiB) per file. Send it another way, or ask an "
            "administrator to raise MAILGRIP_MAX_UPLOAD_BYTES.",
            limit=limit,
        )
    if content_type is not None and not isinstance(content_type, str):
        raise BadRequest("Send 'contentType' as a string, or leave it out.", field="contentType")
    check_room_for_upload(share, size, limits.share_bytes)
    upload = Upload(
        share_id=share.id,
        display_name=clean_name(name),
        size=size,
        content_type=normalize_content_type(content_type),
        storage_key=new_key(),
    )
    db.session.add(upload)
    db.session.flush()
    log.info("Upload %s of %d bytes started in share %s", upload.id, size, share.id)
    if size == 0:
        storage.append_partial(upload.storage_key, 0, io.BytesIO(), 0)
        _complete(upload, storage)
    return upload


def received_bytes(upload: Upload, storage: Storage) -> int:
    """Return how many bytes of the upload the server has."""
    if upload.file_id is not None:
        return upload.size
    return storage.partial_size(upload.storage_key)


def parse_content_range(header: str | None, upload: Upload) -> ChunkRange:
    """Parse the ``Content-Range`` of a chunk and check it against the announced size.

    :raise BadRequest: the header is missing or malformed, or does not fit the upload.
    """
    match = _CONTENT_RANGE.fullmatch((header or "").strip())
    if match is None:
        raise BadRequest(
            f"Content-Range {header!r} is not valid; send 'bytes <first>-<last>/<size>', with "
            "<last> inclusive, for example 'bytes 0-1048575/5000000'."
        )
    chunk = ChunkRange(*(int(group) for group in match.groups()))
    if chunk.size != upload.size:
        raise BadRequest(
            f"Content-Range names a file of {chunk.size} bytes, but upload {upload.id} was "
            f"started with size {upload.size}."
        )
    if chunk.first > chunk.last or chunk.last >= chunk.size:
        raise BadRequest(
            f"Content-Range {header!r} is not a range inside the file's {chunk.size} bytes."
        )
    return chunk


def receive_chunk(
    upload: Upload,
    chunk: ChunkRange,
    content_length: int | None,
    stream: BinaryIO,
    storage: Storage,
    max_share_bytes: int,
) -> Upload:
    """Append one chunk and, after the last one, add the file to the share; the caller commits.

    :param max_share_bytes: the largest total of the share's upload sizes.
    :raise BadRequest: the body length differs from the range, or the body ended early.
    :raise Conflict: the share is not an open draft, the chunk does not start at the number of
        bytes received, or the upload is already complete. ``receivedBytes`` in the detail is
        where to continue.
    :raise NotFound: the upload was removed while the chunk arrived.
    :raise PayloadTooLarge: the share's uploads up to this one exceed ``max_share_bytes``.
    """
    check_open_draft(upload.share)
    if content_length is None:
        raise BadRequest(
            f"The chunk has no Content-Length; send it with Content-Length: {chunk.length}, the "
            "length that its Content-Range announces."
        )
    if content_length != chunk.length:
        raise BadRequest(
            f"The body has {content_length} bytes but Content-Range announces {chunk.length}; "
            "send a Content-Length equal to <last> - <first> + 1."
        )
    if upload.file_id is not None:
        raise Conflict(f"Upload {upload.id} is already complete.", receivedBytes=upload.size)
    check_room_for_chunk(upload, max_share_bytes)
    try:
        received = storage.append_partial(upload.storage_key, chunk.first, stream, chunk.length)
    except OffsetMismatch as mismatch:
        raise Conflict(
            f"The chunk starts at byte {chunk.first}, but the server has {mismatch.size} bytes "
            f"of upload {upload.id}; continue from byte {mismatch.size}.",
            receivedBytes=mismatch.size,
        ) from None
    except EOFError:
        received = storage.partial_size(upload.storage_key)
        raise BadRequest(
            f"The body ended before the {chunk.length} bytes of its Content-Range; the server "
            f"has {received} bytes of upload {upload.id}; continue from there.",
            receivedBytes=received,
        ) from None
    # A removal committed while the body arrived has unlinked the partial object, or this
    # append has created a new one, so the bytes are discarded instead of completing.
    if db.session.scalar(sa.select(Upload.id).where(Upload.id == upload.id)) is None:
        storage.delete_partial(upload.storage_key)
        raise _removed_while_receiving(upload)
    if received == upload.size:
        _complete(upload, storage)
    return upload


def _complete(upload: Upload, storage: Storage) -> None:
    """Turn the received bytes into a file of the share, named uniquely within it.

    :raise Conflict: no free name was found in ``MAX_NAMING_ATTEMPTS`` attempts.
    :raise NotFound: the upload was removed, with its partial object, meanwhile.
    """
    # An update of the upload row opens the transaction before the savepoint below. pysqlite
    # starts none for SELECTs, so the savepoint would otherwise be the outermost transaction on
    # SQLite, and releasing it would commit the file row on its own. On PostgreSQL the update
    # also locks the row, so a concurrent removal waits for this request.
    claimed = db.session.execute(
        sa.update(Upload).where(Upload.id == upload.id).values(size=Upload.size)
    )
    if claimed.rowcount == 0:
        raise _removed_while_receiving(upload)
    try:
        stored = storage.finish_partial(upload.storage_key)
    except StoredObjectMissing:
        raise _removed_while_receiving(upload) from None
    for _attempt in range(MAX_NAMING_ATTEMPTS):
        existing_names = list(
            db.session.scalars(
                sa.select(File.display_name)
                .where(File.share_id == upload.share_id)
                .order_by(File.id)
            )
        )
        name = unique_names([*existing_names, upload.display_name])[-1]
        file = File(
            share_id=upload.share_id,
            display_name=name,
            size=stored.size,
            content_type=upload.content_type,
            sha256=stored.sha256,
            storage_key=stored.key,
        )
        try:
            # A savepoint undoes only this insert when another upload took the name first.
            with db.session.begin_nested():
                db.session.add(file)
        except IntegrityError:
            log.info("Name %r was taken in share %s; choosing another", name, upload.share_id)
            continue
        upload.file_id = file.id
        db.session.expire(upload.share, ["files"])
        log.info("Upload %s complete as file %s of share %s", upload.id, file.id, upload.share_id)
        return
    # NOTE: the finished bytes stay under the upload's key without a file row, so the client
    # has to start a new upload. No test reaches this many collisions.
    raise Conflict(
        f"Upload {upload.id} could not be named in share {upload.share_id} because other "
        "uploads kept taking its name; start a new upload of the file."
    )


def _removed_while_receiving(upload: Upload) -> NotFound:
    log.info("Upload %s was removed while a chunk arrived; the chunk is discarded", upload.id)
    return NotFound(
        f"Upload {upload.id} was removed while this chunk arrived. Start a new upload if the "
        "file is still needed."
    )


def cancel_upload(upload: Upload) -> str:
    """Remove the upload and its file, if it has one, from the database; the caller commits.

    Removal and completion exclude each other. The upload row is deleted only while it is in
    the state that this request read, and completion sets ``file_id`` under a row lock
    (PostgreSQL) or the database's write lock (SQLite). A completion committed after that read
    therefore leaves the DELETE without a row, and the upload is read again and removed with
    its new file. So a removed upload never becomes a file, and a file is removed whole.

    :return: the storage key of the removed bytes, which the caller deletes with
        ``discard_bytes`` after the commit, so that a failed commit leaves no row pointing at
        deleted bytes.
    :raise Conflict: the share is not an open draft, so its recipients may hold the link, or the
        file was already downloaded or blocked through the share's link, and events and blocks
        keep referring to it.
    :raise NotFound: another request removed the upload meanwhile.
    """
    share = upload.share
    check_open_draft(share)
    upload_id, storage_key = upload.id, upload.storage_key
    # Completion sets file_id at most once, so a second pass deletes the row or finds it gone.
    for _attempt in range(2):
        file = upload.file
        if file is not None and _has_history(file):
            raise Conflict(
                f"File {file.display_name!r} of share {share.id} was already downloaded or "
                "blocked through the share's link, so it can no longer be removed. Start a new "
                "share for the message instead."
            )
        state_read = Upload.file_id.is_(None) if file is None else Upload.file_id == file.id
        deleted = db.session.execute(
            sa.delete(Upload).where(Upload.id == upload_id, state_read),
            execution_options={"synchronize_session": False},
        )
        if deleted.rowcount == 1:
            break
        log.info("Upload %s changed while it was being removed; reading it again", upload_id)
        db.session.expire(upload)
        reread = db.session.scalar(sa.select(Upload).where(Upload.id == upload_id))
        if reread is None:
            raise NotFound(f"Upload {upload_id} was already removed from share {share.id}.")
        upload = reread
    else:
        raise Conflict(f"Upload {upload_id} kept changing while it was being removed; try again.")
    db.session.expire(share, ["files"])
    db.session.expunge(upload)
    if file is not None:
        db.session.execute(
            sa.delete(File).where(File.id == file.id),
            execution_options={"synchronize_session": False},
        )
        db.session.expunge(file)
    log.info("Upload %s removed from share %s", upload_id, share.id)
    return storage_key


def discard_bytes(storage_key: str, storage: Storage) -> None:
    """Delete the received bytes of a removed upload, partial or complete."""
    storage.delete_partial(storage_key)
    storage.delete(storage_key)


def share_uploads(share: Share) -> list[Upload]:
    """Return the uploads of a share in the order they were started."""
    return list(
        db.session.scalars(sa.select(Upload).where(Upload.share_id == share.id).order_by(Upload.id))
    )


def _has_history(file: File) -> bool:
    """Return whether an event or a block refers to ``file``."""
    event = db.session.scalar(sa.select(Event.id).where(Event.file_id == file.id).limit(1))
    block = db.session.scalar(sa.select(Block.id).where(Block.file_id == file.id).limit(1))
    return event is not None or block is not None
