"""File downloads from the portal: the access decision, HTTP Range, and a guarded stream."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote

from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext

from ..access.decision import decide
from ..audit import record_audit
from ..db import db
from ..errors import NotFound
from ..mirror.models import Recipient
from ..shares.models import File, Share
from ..shares.storage import StoredObjectMissing, current_storage
from ..tracking.events import record_event
from .active_content import SNIFF_BYTES, is_active_type, sniffs_as_markup

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
# One range of RFC 9110 section 14.1.2; 18 digits keep numbers within int64.
_BYTE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d{0,18})\s*-\s*(\d{0,18})\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` of a file, both included, as in a Content-Range header."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeNotSatisfiable(Exception):
    """The Range header is well-formed but no byte of it lies within the file."""


def send_download(
    share: Share, file_id: int, recipient: Recipient | None, back_url: str
) -> Response:
    """Stream a file of ``share`` to ``recipient`` (None: not verified), or deny it.

    :param back_url: the portal page that the denial page links back to.

    :raise 404: the file does not exist or belongs to another share.
    :return: 200 or 206 with the bytes, 403 with a page naming the reason, 410 when the
        stored bytes are missing, or 416.
    """
    file = db.session.get(File, file_id)
    decision = decide(share, file, recipient)
    if decision.reason == "not_found" or file is None:
        raise NotFound(gettext("This file is not one of the files shared with this link."))
    if not decision.allowed:
        return _deny(share, file, recipient, decision.reason or "not_found", back_url)

    try:
        byte_range = select_range(
            request.headers.get("Range"), request.headers.get("If-Range"), file
        )
    except RangeNotSatisfiable:
        response = Response(gettext("The requested range is not within the file."), 416,
                            content_type="text/plain; charset=utf-8")
        response.headers["Content-Range"] = f"bytes */{file.size}"
        return response
    try:
        return _file_response(share, file, recipient, byte_range)
    except StoredObjectMissing:
        return _gone(share, file, recipient, back_url)


def _file_response(
    share: Share, file: File, recipient: Recipient | None, byte_range: ByteRange | None
) -> Response:
    """Return the streaming response of the whole file, or of ``byte_range`` with 206."""
    whole = byte_range is None
    byte_range = byte_range or ByteRange(0, file.size - 1)
    length = max(byte_range.length, 0)
    # Opened here rather than in the stream, so that a missing object fails before the headers.
    storage = current_storage()
    with storage.open(file.storage_key, 0, min(SNIFF_BYTES, file.size)) as head_reader:
        head = head_reader.read()
    reader = storage.open(file.storage_key, byte_range.start, length)
    body = _stream(share, file, recipient, reader, length, None if whole else byte_range)
    response = Response(stream_with_context(body), 200 if whole else 206,
                        content_type=served_content_type(file.content_type, head))
    response.call_on_close(reader.close)
    response.content_length = length
    response.headers["Content-Disposition"] = content_disposition(file.display_name)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = f'"{file.sha256}"'
    if not whole:
        response.headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{file.size}"
    return response


def select_range(header: str | None, if_range: str | None, file: File) -> ByteRange | None:
    """Return the single byte range to send, or None to send the whole file.

    Following RFC 9110, a Range header that is malformed, requests several ranges or uses
    another unit is ignored, as is one whose If-Range does not name the file's current ETag.

    :raise RangeNotSatisfiable: the range starts at or after the end of the file.
    """
    if not header:
        return None
    if if_range is not None and if_range.strip() != f'"{file.sha256}"':
        return None
    match = _BYTE_RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.groups()
    size = file.size
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1))


def content_disposition(name: str) -> str:
    """Return an ``attachment`` Content-Disposition for ``name`` (RFC 6266 and RFC 8187).

    ``filename`` is an ASCII fallback for old clients; ``filename*`` carries the exact name.
    """
    fallback = []
    for char in unicodedata.normalize("NFKD", name):
        if unicodedata.combining(char):
            continue
        # Quotes and backslashes would end or escape the quoted string, and some browsers
        # percent-decode the fallback.
        fallback.append(char if " " <= char <= "~" and char not in '"\\%' else "_")
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{''.join(fallback) or 'file'}\"; filename*=UTF-8''{encoded}"


def served_content_type(stored: str, head: bytes = b"") -> str:
    """Return the stored type, except that documents a browser could run become bytes.

    :param head: the file's first bytes; markup there makes the file active whatever its
        declared type, because a browser that ignores nosniff would sniff it as a document.
    """
    if is_active_type(stored) or sniffs_as_markup(head):
        return "application/octet-stream"
    return stored


def reason_message(reason: str) -> str:
    """Return the sentence that explains to a recipient why access is denied."""
    messages = {
        "blocked_all": gettext("The sender has blocked access to these files."),
        "blocked_recipient": gettext("The sender has blocked your access to these files."),
        "blocked_file": gettext("The sender has blocked access to this file."),
        "expired": gettext("This link has expired. Ask the sender to share the files again."),
        "not_verified": gettext("Confirm your email address before you download."),
        "limit_reached": gettext("This file cannot be downloaded any more times."),
        "not_found": gettext("This file is not one of the files shared with this link."),
    }
    return messages[reason]


def _deny(
    share: Share, file: File, recipient: Recipient | None, reason: str, back_url: str
) -> Response:
    _record_denial(share, file, recipient, {"reason": reason})
    db.session.commit()
    log.info("Download of file %s of share %s denied: %s", file.id, share.id, reason)
    page = render_template(
        "portal/notice.html",
        title=gettext("Download not possible"),
        message=reason_message(reason),
        back_url=back_url,
    )
    return Response(page, 403, content_type="text/html; charset=utf-8")


def _gone(share: Share, file: File, recipient: Recipient | None, back_url: str) -> Response:
    """Record and explain a download whose file has no bytes in storage any more.

    The reason "missing" is only an event detail, not a reason of ``decide``, because the
    access decision allowed the download.
    """
    log.error("Stored object %s of file %s of share %s is missing, so the download failed",
              file.storage_key, file.id, share.id)
    _record_denial(share, file, recipient, {"reason": "missing"})
    db.session.commit()
    page = render_template(
        "portal/notice.html",
        title=gettext("Download not possible"),
        message=gettext("This file is no longer available. Ask the sender to send it again."),
        back_url=back_url,
    )
    return Response(page, 410, content_type="text/html; charset=utf-8")


def _stream(
    share: Share,
    file: File,
    recipient: Recipient | None,
    reader: BinaryIO,
    length: int,
    byte_range: ByteRange | None,
) -> Iterator[bytes]:
    """Yield the bytes, asking the access decision again before every chunk.

    A denial ends the body early. The response announced its Content-Length, so the client
    sees a failed download instead of a complete-looking file. The download is recorded before
    the last chunk is handed to the server, because a client that has every byte may look at
    the task pane at once; a client that drops the last chunk is then still counted.
    """
    file_id, share_id = file.id, share.id
    sent = 0
    with reader:
        try:
            while sent < length:
                decision = decide(share, file, recipient)
                if not decision.allowed:
                    detail = {"reason": decision.reason, "interrupted": True, "bytes_sent": sent}
                    _record_denial(share, file, recipient, detail)
                    db.session.commit()
                    log.info("Download of file %s of share %s stopped after %d bytes: %s",
                             file.id, share.id, sent, decision.reason)
                    return
                # The check only reads. Ending its transaction returns the connection to the
                # pool, so a slow download does not hold one for its whole length.
                db.session.rollback()
                chunk = reader.read(min(CHUNK_BYTES, length - sent))
                if not chunk:
                    log.error("Stored file %s of share %s ended after %d of %d bytes",
                              file.id, share.id, sent, length)
                    return
                sent += len(chunk)
                if sent == length:
                    _record_completion(share, file, recipient, byte_range, sent)
                yield chunk
        except GeneratorExit:
            # The client went away; a partial download is neither a download nor a denial.
            log.info("Download of file %s of share %s abandoned by the client after %d bytes",
                     file_id, share_id, sent)
            raise

    if length == 0:
        _record_completion(share, file, recipient, byte_range, sent)


def _record_completion(
    share: Share, file: File, recipient: Recipient | None, byte_range: ByteRange | None, sent: int
) -> None:
    detail = {} if byte_range is None else {
        "range": f"bytes {byte_range.start}-{byte_range.end}/{file.size}"
    }
    if completes_download(file, byte_range):
        record_event("downloaded", share, recipient=recipient, file=file, detail=detail)
    record_audit(_actor(recipient), "download", share.id, file_id=file.id, bytes=sent, **detail)
    db.session.commit()


def completes_download(file: File, byte_range: ByteRange | None) -> bool:
    """Return whether a response that was sent in full counts as a ``downloaded`` event.

    A whole-file response counts. A range response counts only when it ends at the file's
    last byte, so a file fetched in several ranges counts once and a probe such as
    ``bytes=0-0`` not at all. Every response is still audited with its range.

    NOTE: a client that fetches only the end of a file (``bytes=-10``) also counts, because
    ranges are not collected across requests.
    """
    return byte_range is None or byte_range.end == file.size - 1


def _record_denial(
    share: Share, file: File, recipient: Recipient | None, detail: dict[str, object]
) -> None:
    record_event("download_denied", share, recipient=recipient, file=file, detail=detail)
    record_audit(_actor(recipient), "download_denied", share.id, file_id=file.id, **detail)


def _actor(recipient: Recipient | None) -> str:
    return f"recipient:{recipient.id}" if recipient is not None else "anonymous"
