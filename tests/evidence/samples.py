"""Files for the evidence tests: good ones, and hostile ones built in memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
PDF_JAVASCRIPT = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript "
    b"/JS (app.alert\\(1\\)) >> >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
#: The same, with the name written in #xx escapes, as a dropper would.
PDF_ESCAPED_LAUNCH = (
    b"%PDF-1.7\n1 0 obj << /OpenAction << /S /L#61unch /F (cmd.exe) >> >>\n%%EOF"
)
SVG_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
CSV = b'=HYPERLINK("http://evil"),1\nname,amount\n'


def jpeg_with_gps(size=(40, 20)) -> bytes:
    """A phone photo: turned on its side by EXIF orientation 6, with GPS position."""
    image = Image.new("RGB", size, "white")
    for x in range(size[0] // 2):
        image.putpixel((x, 0), (200, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 12.5), "W", (0.0, 7.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(size=(30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 255)).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def pixel_bomb_png(width=100_000, height=100_000) -> bytes:
    """A few hundred bytes that declare ten billion pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
    b'2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="'
    b'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b"</Types>"
)
_MACRO_TYPES = _TYPES.replace(
    b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
)


def xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Invoice", "Amount"])
    workbook.active.append(["INV-1", 12.5])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_bomb(size: int = 60 * 1024 * 1024) -> bytes:
    """A workbook whose one sheet unpacks from a few kilobytes to ``size`` of zeros."""
    return _zip(
        {
            "[Content_Types].xml": _TYPES,
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"\x00" * size,
        }
    )


def xlsm() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": _MACRO_TYPES,
            "xl/workbook.xml": b"<workbook/>",
            "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\x00" * 100,
        }
    )


def zip_not_workbook() -> bytes:
    return _zip({"word/document.xml": b"<w/>", "[Content_Types].xml": _TYPES})
