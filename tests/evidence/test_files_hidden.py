"""What hides from a plain look at the bytes: actions inside compressed object streams,
automatic actions (/AA, /OpenAction), and phone photos saved as MPO."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from funds.errors import ValidationError
from funds.evidence import files
from funds.evidence.files import JPEG, PDF, check_file
from tests.evidence import samples

CAP = 8 * 1024 * 1024
REFUSED = "scripts, actions or attached files"


def _stream(number: int, dictionary: bytes, body: bytes) -> bytes:
    return (
        b"%d 0 obj\n<< " % number
        + dictionary
        + b" /Length %d >>\nstream\n" % len(body)
        + body
        + b"\nendstream\nendobj\n"
    )


def pdf_with_object_stream(
    objects: list[bytes], *, filter_name: bytes = b"/FlateDecode"
) -> bytes:
    """A PDF 1.5 whose catalog and other objects (numbered from 1) sit compressed in an
    object stream, as many tools write them."""
    bodies, header, offset = b"", b"", 0
    for number, text in enumerate(objects, start=1):
        header += b"%d %d " % (number, offset)
        bodies += text + b" "
        offset += len(text) + 1
    payload = header + bodies
    stream = _stream(
        len(objects) + 1,
        b"/Type /ObjStm /N %d /First %d /Filter %s"
        % (len(objects), len(header), filter_name),
        zlib.compress(payload),
    )
    return (
        b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
        + stream
        + b"trailer\n<< /Root 1 0 R /Size %d >>\n%%%%EOF\n" % (len(objects) + 2)
    )


def pdf_with_compressed_page(extra_catalog: bytes = b"") -> bytes:
    """An ordinary one-page receipt: its text drawn by a Flate-compressed content
    stream."""
    content = zlib.compress(
        b"BT /F1 12 Tf 72 720 Td (Receipt: 2 x school shoes, total 34.50) Tj ET"
    )
    return (
        b"%PDF-1.4\n"
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R" + extra_catalog + b" >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>\nendobj\n"
        + _stream(4, b"/Filter /FlateDecode", content)
        + b"5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R /Size 6 >>\n%%EOF\n"
    )


CATALOG = b"<< /Type /Catalog /Pages 3 0 R /OpenAction 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"


@pytest.mark.parametrize(
    ("action", "filter_name"),
    [
        (b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>", b"/FlateDecode"),
        (b"<< /S /L#61unch /F (cmd.exe) >>", b"/FlateDecode"),
        (b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>", b"[/Fl#61teDecode]"),
    ],
)
def test_actions_inside_a_compressed_object_stream_are_refused(action, filter_name):
    body = pdf_with_object_stream([CATALOG, action, PAGES], filter_name=filter_name)
    assert b"JavaScript" not in body and b"Launch" not in body
    with pytest.raises(ValidationError, match=REFUSED):
        check_file("receipt.pdf", body, max_bytes=CAP)


def test_an_object_stream_with_only_ordinary_objects_passes():
    body = pdf_with_object_stream(
        [b"<< /Type /Catalog /Pages 2 0 R >>", PAGES.replace(b"3", b"2")]
    )
    assert check_file("receipt.pdf", body, max_bytes=CAP).data == body


def test_an_ordinary_pdf_with_a_compressed_page_is_accepted_unchanged():
    body = pdf_with_compressed_page()
    checked = check_file("receipt.pdf", body, max_bytes=CAP)
    assert (checked.content_type, checked.data) == (PDF, body)


def test_opening_at_a_page_is_accepted_but_an_open_action_is_refused():
    fit = pdf_with_compressed_page(b" /OpenAction [3 0 R /Fit]")
    assert check_file("latex.pdf", fit, max_bytes=CAP).data == fit
    for action in (b" /OpenAction 6 0 R", b" /OpenAction << /S /GoTo >>"):
        with pytest.raises(ValidationError, match=REFUSED):
            check_file("a.pdf", pdf_with_compressed_page(action), max_bytes=CAP)


@pytest.mark.parametrize("name", [b"/AA", b"/A#41"])
def test_additional_actions_are_refused(name):
    body = pdf_with_compressed_page(b" " + name + b" << /O 6 0 R >>")
    with pytest.raises(ValidationError, match=REFUSED):
        check_file("a.pdf", body, max_bytes=CAP)


def test_aa_is_matched_as_a_whole_name_only():
    body = pdf_with_compressed_page(b" /AAPL 1 /Metadata /AAA")
    assert check_file("a.pdf", body, max_bytes=CAP).data == body


def test_a_stream_inflating_beyond_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(files, "PDF_MAX_INFLATED", 1024 * 1024)
    bomb = _stream(9, b"/Filter /FlateDecode", zlib.compress(b"\x00" * 2 * 1024 * 1024))
    body = pdf_with_compressed_page().replace(b"trailer", bomb + b"trailer")
    with pytest.raises(ValidationError, match="unpacks to more than 1 MB"):
        check_file("a.pdf", body, max_bytes=CAP)


def test_a_corrupt_compressed_stream_is_skipped():
    broken = _stream(9, b"/Filter /FlateDecode", b"not zlib at all")
    body = pdf_with_compressed_page().replace(b"trailer", broken + b"trailer")
    assert check_file("a.pdf", body, max_bytes=CAP).data == body


def mpo_photo() -> bytes:
    """What a phone (or Pillow) saves as a "JPEG" with a second frame: an MPO, with EXIF
    orientation and GPS on its first frame."""
    first = Image.new("RGB", (40, 20), "white")
    second = Image.new("RGB", (40, 20), "black")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 12.5)
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second], exif=exif)
    return out.getvalue()


def test_an_mpo_phone_photo_is_accepted_as_a_plain_jpeg_without_exif():
    body = mpo_photo()
    assert Image.open(io.BytesIO(body)).format == "MPO"
    checked = check_file("IMG_1.jpg", body, max_bytes=CAP)
    assert checked.content_type == JPEG and checked.extension == ".jpg"
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.format == "JPEG"
        assert image.size == (20, 40)  # turned upright
        assert dict(image.getexif()) == {}
        assert getattr(image, "n_frames", 1) == 1
    assert b"PhoneMaker" not in checked.data and b"MPF" not in checked.data


def test_a_plain_jpeg_still_passes():
    assert check_file("a.jpg", samples.jpeg_with_gps(), max_bytes=CAP).data
