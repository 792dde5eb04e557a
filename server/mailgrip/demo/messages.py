"""The demo's own sent messages: realistic mail with several recipients and files each."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

SENDER = ("Alice Janssen", "alice@contoso.example")


@dataclass(frozen=True)
class DemoFile:
    name: str
    content_type: str
    data: bytes


def _pdf(title: str) -> bytes:
    """Build a small valid one-page PDF that shows ``title`` (ASCII)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({title}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """Build a PNG of one plain colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class DemoMessage:
    subject: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    body: str
    files: list[DemoFile]


DEMO_MESSAGES = [
    DemoMessage(
        subject="Board pack Q3 for Thursday's meeting",
        to=[("Bob de Vries", "bob@fabrikam.example"), ("Carol Smith", "carol@northwind.example")],
        cc=[("Dan Okafor", "dan@fabrikam.example")],
        body="Hi all,\n\nAttached is the board pack for Thursday, with the Q3 figures and the "
        "draft minutes of the last meeting. Please read it before we meet.\n\nKind regards,\nAlice",
        files=[
            DemoFile("Board pack Q3.pdf", "application/pdf", _pdf("Board pack Q3")),
            DemoFile(
                "Q3 figures.csv",
                "text/csv",
                b"region,revenue,costs\nNorth,1250000,830000\nSouth,980000,710000\n",
            ),
            DemoFile("Draft minutes June.pdf", "application/pdf", _pdf("Draft minutes")),
        ],
    ),
    DemoMessage(
        subject="Signed contract and site photos",
        to=[("Erik Müller", "erik.mueller@contoso-partner.example")],
        cc=[
            ("Bob de Vries", "Bob@Fabrikam.example"),
            ("Fatima Haddad", "fatima@northwind.example"),
        ],
        body="Dear Erik,\n\nHere are the signed contract and two photos of the site as agreed. "
        "Let me know if anything is missing.\n\nBest,\nAlice",
        files=[
            DemoFile("Contract 2026-114 signed.pdf", "application/pdf", _pdf("Contract 2026-114")),
            DemoFile("Site north.png", "image/png", _png(64, 48, (70, 130, 180))),
            DemoFile("Site south.png", "image/png", _png(64, 48, (60, 160, 90))),
        ],
    ),
]


def build_demo_message(demo: DemoMessage) -> bytes:
    """Render one demo message as RFC 5322 bytes, files attached as Outlook would send them."""
    message = EmailMessage()
    message["From"] = f"{SENDER[0]} <{SENDER[1]}>"
    message["To"] = ", ".join(f"{name} <{address}>" for name, address in demo.to)
    if demo.cc:
        message["Cc"] = ", ".join(f"{name} <{address}>" for name, address in demo.cc)
    message["Subject"] = demo.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="contoso.example")
    message.set_content(demo.body)
    for file in demo.files:
        maintype, subtype = file.content_type.split("/", 1)
        message.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.name)
    return message.as_bytes()
