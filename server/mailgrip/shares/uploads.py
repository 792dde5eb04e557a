"""Receiving a multipart upload straight into storage, one chunk at a time.

No file is ever held whole in memory. The request body is read in chunks, fed to werkzeug's
sans-IO multipart decoder, and each part named ``files`` is written to storage as its bytes
arrive, with its size and SHA-256 computed on the way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from gunicorn.http.errors import (
    ChunkMissingTerminator,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidHeader,
    LimitRequestHeaders,
)
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Event,
    MultipartDecoder,
    State,
)
from werkzeug.sansio.multipart import Field as FieldPart
from werkzeug.sansio.multipart import File as FilePart

from ..errors import BadRequest, PayloadTooLarge
from .storage import Storage, StorageWriter, StoredObject

log = logging.getLogger(__name__)

FILES_FIELD = "files"
FORM_FIELDS = ("verification",)
MAX_FILES = 250
MAX_FIELD_BYTES = 1024
READ_CHUNK_BYTES = 64 * 1024
MAX_PART_HEADER_BYTES = 64 * 1024
# The decoder buffers one unread chunk plus a part header until its blank line arrives, so a
# fuller buffer means a header that is too long.
_DECODER_BUFFER_BYTES = READ_CHUNK_BYTES + MAX_PART_HEADER_BYTES
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Browsers quote a filename the WHATWG way: backslashes stay literal, and only '"', CR and LF
# are percent-encoded. RFC 9110 would read a backslash as an escape and lose it from
# "C:\Users\a.txt", so the quoted value is read here and werkzeug decodes only filename*.
_QUOTED_FILENAME = re.compile(r';\s*filename\s*=\s*"([^"]*)"', re.IGNORECASE)
_EXTENDED_FILENAME = re.compile(r";\s*filename\*\s*=", re.IGNORECASE)
_WHATWG_ESCAPES = {"%22": '"', "%0A": "\n", "%0D": "\r", "%0a": "\n", "%0d": "\r"}
# What reading the request body raises when its chunked framing is broken. Werkzeug's server
# raises OSError("Invalid chunk header"). Gunicorn's ChunkedReader (gunicorn/http/body.py,
# 27.0) raises NoMoreData, which is an OSError, or one of these ParseException subclasses,
# which are not. InvalidHeader and LimitRequestHeaders come from a broken trailer section.
_BODY_READ_ERRORS = (
    OSError,
    InvalidChunkSize,
    ChunkMissingTerminator,
    InvalidChunkExtension,
    InvalidHeader,
    LimitRequestHeaders,
)
# The parameter of a Content-Disposition line that ends at the invalid byte, such as "name".
_LAST_PARAMETER = re.compile(rb";\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=[^;]*$")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")


@dataclass(frozen=True)
class Upload:
    """One received file: the name and content type from its part, and the stored bytes."""

    filename: str | None
    content_type: str
    stored: StoredObject


@dataclass
class ReceivedForm:
    """The files and the small text fields of one upload request, in the order sent."""

    files: list[Upload] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self, storage: Storage) -> None:
        """Delete every stored file, when the share they were meant for is not created."""
        for upload in self.files:
            storage.delete(upload.stored.key)


def receive_form(
    stream: BinaryIO,
    content_type: str | None,
    content_length: int | None,
    storage: Storage,
    limit: int,
) -> ReceivedForm:
    """Read a ``multipart/form-data`` body, storing each ``files`` part as it arrives.

    :param limit: the maximum number of body bytes, whether announced or sent chunked.
    :raise PayloadTooLarge: the body is, or announces itself as, larger than ``limit``;
        nothing stays stored.
    :raise BadRequest: the body is not well-formed multipart form data; nothing stays stored.
    """
    mimetype, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        raise BadRequest(
            "Send the files as multipart/form-data, one part named 'files' per file; "
            f"the request has Content-Type {content_type or 'none'!r}."
        )
    if content_length is not None and content_length > limit:
        raise _too_large(limit)

    receiver = _Receiver(storage)
    try:
        receiver.run(stream, MultipartDecoder(boundary.encode(), _DECODER_BUFFER_BYTES), limit)
    except BaseException:
        receiver.discard()
        raise
    return receiver.form


class _Receiver:
    """The parser state of one request: the part being read and what is done so far."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.form = ReceivedForm()
        self._writer: StorageWriter | None = None
        self._part: FilePart | FieldPart | None = None
        self._parts_started = 0
        self._field_value = bytearray()

    def run(self, stream: BinaryIO, decoder: MultipartDecoder, limit: int) -> None:
        received = 0
        while True:
            chunk = _read_chunk(stream)
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            # After the closing boundary only the epilogue follows, which has no meaning:
            # it is counted against the limit but not buffered.
            if chunk and decoder.state is State.EPILOGUE:
                continue
            try:
                decoder.receive_data(chunk or None)
                for event in _events(decoder):
                    self._handle(event)
            except RequestEntityTooLarge:
                raise BadRequest(
                    f"A multipart part header is longer than {MAX_PART_HEADER_BYTES} bytes; "
                    "send shorter headers."
                ) from None
            except UnicodeDecodeError as error:
                # The decoder reads each part header line as UTF-8.
                raise BadRequest(_header_encoding_message(error, self._parts_started + 1)) from None
            except ValueError as error:
                raise BadRequest(
                    "The request body is not valid multipart/form-data, because "
                    f"{_malformed_reason(decoder, error, self._parts_started)}. Send the files "
                    "as multipart/form-data, one part named 'files' per file."
                ) from None
            if not chunk:
                return

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self.form.discard(self.storage)

    def _handle(self, event: Event) -> None:
        if isinstance(event, FilePart | FieldPart):
            self._start_part(event)
        elif isinstance(event, Data):
            self._take_data(event)

    def _start_part(self, part: FilePart | FieldPart) -> None:
        self._part = part
        self._parts_started += 1
        self._field_value.clear()
        # A part counts as a file by its name, with or without a filename parameter.
        if part.name == FILES_FIELD:
            if len(self.form.files) >= MAX_FILES:
                raise BadRequest(
                    f"A share can contain at most {MAX_FILES} files; "
                    "send the rest in another share."
                )
            self._writer = self.storage.create()

    def _take_data(self, data: Data) -> None:
        part = self._part
        if part is None:
            return
        if self._writer is not None:
            self._writer.write(data.data)
            if not data.more_data:
                stored = self._writer.commit()
                self._writer = None
                self.form.files.append(
                    Upload(
                        filename=part_filename(part),
                        content_type=normalize_content_type(part.headers.get("Content-Type")),
                        stored=stored,
                    )
                )
        elif part.name in FORM_FIELDS:
            self._field_value.extend(data.data)
            if len(self._field_value) > MAX_FIELD_BYTES:
                raise BadRequest(
                    f"The form field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes."
                )
            if not data.more_data:
                self.form.fields[part.name] = self._field_text(part.name)
        # Parts with other names are read and dropped, so a newer client's extra fields
        # do not break an older server.

    def _field_text(self, name: str) -> str:
        try:
            return self._field_value.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise BadRequest(
                f"The form field {name!r} in multipart part {self._parts_started} is not valid "
                "UTF-8; send its value as UTF-8 text."
            ) from None


def _read_chunk(stream: BinaryIO) -> bytes:
    """Read the next piece of the request body.

    :raise BadRequest: the server could not read the body, for example because the request
        announces chunked encoding but sends a plain body. Werkzeug's server and gunicorn
        both pass such a body to the app and fail only when it is read.
    """
    try:
        return stream.read(READ_CHUNK_BYTES)
    except _BODY_READ_ERRORS as error:
        log.warning("Reading an upload body failed: %s: %s", type(error).__name__, error)
        raise BadRequest(
            f"The request body could not be read: {error}. Check that its chunked transfer "
            "encoding is valid, or send it with a Content-Length instead, then upload again."
        ) from None


def _header_encoding_message(error: UnicodeDecodeError, part_number: int) -> str:
    """Return the error message for a part header line that is not valid UTF-8.

    ``error.object`` is the header line that werkzeug's decoder failed to decode, so the
    message can name that header and, in Content-Disposition, the parameter.
    """
    line = bytes(error.object)
    header_name = line.partition(b":")[0].strip().decode("ascii", "replace")
    parameter = None
    if header_name.lower() == "content-disposition":
        match = _LAST_PARAMETER.search(line[: error.start])
        parameter = match.group(1).decode("ascii").lower() if match else None
    if parameter in ("filename", "filename*"):
        return (
            f"The file name in multipart part {part_number} is not valid UTF-8. Send file "
            "names as UTF-8, or as filename*=UTF-8''<percent-encoded name> (RFC 8187)."
        )
    if parameter is not None:
        return (
            f"The {parameter!r} parameter of the Content-Disposition header in multipart part "
            f"{part_number} is not valid UTF-8. Send it as UTF-8, and send files in parts named "
            f"{FILES_FIELD!r}."
        )
    return (
        f"The {header_name} header in multipart part {part_number} is not valid UTF-8. "
        "Send part headers as UTF-8 text."
    )


def _malformed_reason(decoder: MultipartDecoder, error: ValueError, parts_started: int) -> str:
    """Return why werkzeug's decoder rejected the body, as a clause of the error message.

    Werkzeug 3 raises ValueError("Invalid form-data cannot parse beyond <state>") when the body
    ends early, so the decoder's state tells where it ended.
    """
    boundary = decoder.boundary.decode("ascii", "replace")
    if decoder.state is State.PREAMBLE:
        return f"it does not contain the boundary line '--{boundary}' from its Content-Type"
    if decoder.state is State.PART and "Content-Disposition" in str(error):
        return f"multipart part {parts_started + 1} has no Content-Disposition header"
    if decoder.state is State.PART:
        return f"it ends inside the headers of multipart part {parts_started + 1}"
    if decoder.state in (State.DATA_START, State.DATA):
        return (
            f"it ends inside multipart part {parts_started}, before the closing boundary line "
            f"'--{boundary}--'"
        )
    return f"the multipart decoder failed: {error}"


def _events(decoder: MultipartDecoder) -> Iterator[Event]:
    while True:
        event = decoder.next_event()
        if event is NEED_DATA:
            return
        yield event
        if isinstance(event, Epilogue):
            return


def part_filename(part: FilePart | FieldPart) -> str | None:
    """Return the file name of a multipart part as its client meant it, None when it has none.

    ``filename*`` (RFC 8187) wins when present; a quoted ``filename`` is read as browsers
    write it.
    """
    disposition = part.headers.get("Content-Disposition", "")
    if not _EXTENDED_FILENAME.search(disposition):
        match = _QUOTED_FILENAME.search(disposition)
        if match is not None:
            return re.sub(r"%(22|0[aAdD])", lambda m: _WHATWG_ESCAPES[m.group(0)], match.group(1))
    return part.filename if isinstance(part, FilePart) else None


def normalize_content_type(value: str | None) -> str:
    """Return the media type of a part's Content-Type, lower-case and without parameters.

    Anything that is not a plain ``type/subtype`` becomes ``application/octet-stream``.
    """
    mimetype, _ = parse_options_header(value)
    mimetype = mimetype.lower()
    return mimetype if _MEDIA_TYPE.fullmatch(mimetype) else DEFAULT_CONTENT_TYPE


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The upload is too large: the limit is {limit} bytes ({limit / 2**20:.4g} MiB) "
        "per request. Send fewer or smaller files.",
        limit=limit,
    )
