"""The content checks on their own: names, download names, PDFs, images, workbooks."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from funds.errors import ValidationError
from funds.evidence.files import (
    JPEG,
    PDF,
    PNG,
    XLSX,
    check_file,
    clean_name,
    download_name,
)
from tests.evidence import samples

CAP = 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../x.pdf", "x.pdf"),
        ("C:\\Users\\sam\\receipt.pdf", "receipt.pdf"),
        ("  .hidden.pdf", "hidden.pdf"),
        ("a\x00b\u202ecod.pdf", "abcod.pdf"),
        ("Zoë's * ? receipt.jpg", "Zoë's _ _ receipt.jpg"),
        ("", "file"),
        ("\ufffe", "file"),
    ],
)
def test_clean_name(raw, expected):
    assert clean_name(raw) == expected


def test_clean_name_keeps_the_extension_of_a_long_name():
    name = clean_name("r" * 400 + ".pdf")
    assert len(name) == 200 and name.endswith(".pdf")


@pytest.mark.parametrize(
    "original",
    [
        'Receipt \r\n"x".pdf',
        "../../etc/passwd",
        "=cmd|' /C calc'!A0",
        "ünïcödé £.pdf",
        "....",
    ],
)
def test_download_name_is_a_slug_with_the_real_extension(original):
    name = download_name(original, JPEG)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    assert name.endswith(".jpg") and ".." not in name and not name.startswith(".")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (samples.PDF, PDF),
        (samples.jpeg_with_gps(), JPEG),
        (samples.png(), PNG),
        (samples.xlsx(), XLSX),
    ],
)
def test_good_files_pass(body, content_type):
    assert check_file("f", body, max_bytes=CAP).content_type == content_type


def test_a_pdf_naming_json_is_not_mistaken_for_js():
    body = samples.PDF.replace(b"/Type /Pages", b"/Type /Pages /JSON 1")
    assert check_file("a.pdf", body, max_bytes=CAP).data == body


@pytest.mark.parametrize(
    "name", [b"/EmbeddedFile", b"/JS", b"/J#53", b"/EmbeddedFiles"]
)
def test_active_pdf_names_are_refused(name):
    body = samples.PDF.replace(b"/Type /Pages", b"/Type /Pages " + name + b" 1")
    with pytest.raises(ValidationError, match="scripts, actions or attached files"):
        check_file("a.pdf", body, max_bytes=CAP)


def test_png_text_chunks_are_dropped():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address 1 Acacia Avenue")
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG", pnginfo=info)
    checked = check_file("a.png", out.getvalue(), max_bytes=CAP)
    assert b"Acacia" not in checked.data
    assert Image.open(io.BytesIO(checked.data)).size == (8, 8)


def test_a_truncated_image_is_unreadable():
    with pytest.raises(ValidationError, match="could not be read"):
        check_file("a.jpg", samples.jpeg_with_gps()[:200], max_bytes=CAP)


def test_a_png_declaring_too_many_pixels_is_refused_quickly():
    with pytest.raises(ValidationError, match="too large"):
        check_file("a.png", samples.pixel_bomb_png(8000, 8000), max_bytes=CAP)


def test_a_name_that_disagrees_with_the_content_is_refused():
    from funds.evidence.files import check_file

    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
    with pytest.raises(ValidationError) as refused:
        check_file("receipt.exe", pdf, max_bytes=1_000_000)
    assert "receipt.exe" in refused.value.message and ".pdf" in refused.value.message
    assert check_file("RECEIPT.PDF", pdf, max_bytes=1_000_000).content_type.endswith(
        "pdf"
    )
    # No ending at all is fine: a download is named by what the file is.
    assert check_file("scan from the office", pdf, max_bytes=1_000_000).extension == (
        ".pdf"
    )
