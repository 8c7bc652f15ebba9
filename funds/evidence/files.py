"""What an evidence file is, decided by its content: PDF, JPEG, PNG or xlsx, nothing else.

The name a browser sends and the content type it claims are never trusted. Images are
re-encoded (turned the right way up first) so that EXIF and GPS location data are dropped.
Every refusal names the file, so that one bad file among several is easy to find.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps

from funds.errors import ValidationError
from funds.spreadsheets import Limits, check_workbook_zip

#: The most files one upload may hold.
MAX_FILES = 10
#: The most pixels an image may have (a phone photo is 12 to 50 megapixels... 40 is ample
#: for a receipt; a "pixel bomb" declares far more in a few bytes).
MAX_PIXELS = 40_000_000
#: A receipt workbook is small; this bounds what its zip may unpack to.
WORKBOOK_LIMITS = Limits(50 * 1024 * 1024, 0, 0, 0, xls=False)
#: The longest original name kept.
MAX_NAME = 200

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", XLSX: ".xlsx"}
#: The name endings each kind may be uploaded under (any case). A name with no ending is
#: fine (a download is always named by what the file is); a name ending otherwise
#: (``receipt.exe`` holding a PDF) is refused, so the name never disagrees with the content.
NAME_ENDINGS = {
    PDF: {"pdf"},
    JPEG: {"jpg", "jpeg", "jpe", "jfif"},
    PNG: {"png"},
    XLSX: {"xlsx"},
}
_KIND_WORDS = {
    PDF: "a PDF",
    JPEG: "a JPEG image",
    PNG: "a PNG image",
    XLSX: "an Excel workbook",
}
_ENDING = re.compile(r"\.([A-Za-z0-9]{1,8})$")
#: What the upload form's ``accept`` attribute offers (a phone offers its camera).
ACCEPT = "application/pdf,image/jpeg,image/png,.xlsx"
KINDS_SENTENCE = "a PDF, a JPEG or PNG image, or an Excel workbook (.xlsx)"

#: PDF names that run code or carry other files (matched in any case).
_PDF_ACTIVE = {"javascript", "js", "launch", "embeddedfile", "embeddedfiles"}
#: Names of actions run on their own: when a page or field is used (``/AA``), and when
#: the document opens (``/OpenAction``, refused unless it is only a page to open at,
#: ``[3 0 R /Fit]``, as LaTeX writes). Matched exactly: PDF names are case-sensitive.
_PDF_AUTO_ACTIONS = {b"AA", b"OpenAction"}
_PDF_NAME = re.compile(rb"/((?:[^\s/<>\[\]()%{}#]|#[0-9A-Fa-f]{2})+)")
#: A stream's dictionary (from its object's start) and where its bytes begin.
_PDF_STREAM = re.compile(
    rb"obj\b((?:(?!\bobj\b|endobj).){0,4096}?)stream(?:\r\n|\r|\n)", re.S
)
#: The most a PDF's compressed streams may inflate to, all together.
PDF_MAX_INFLATED = 50 * 1024 * 1024
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
#: What Pillow may report for each kind.
_FORMATS = {"JPEG": {"JPEG", "MPO"}, "PNG": {"PNG"}}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class CheckedFile:
    """One file that passed: the bytes to store (re-encoded for images)."""

    name: str
    data: bytes
    content_type: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def clean_name(raw: str | None) -> str:
    """A readable name kept only as metadata: no folders, no control or path characters,
    at most MAX_NAME characters, never empty."""
    text = unicodedata.normalize("NFC", raw or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        ch
        for ch in text
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    text = _UNSAFE_NAME.sub("_", text)
    text = " ".join(text.split()).lstrip(". ")
    if not text:
        text = "file"
    if len(text) > MAX_NAME:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            text = stem[: MAX_NAME - len(extension) - 1] + "." + extension
        else:
            text = text[:MAX_NAME]
    return text


def download_name(original: str, content_type: str) -> str:
    """The name a download is offered under: ``[A-Za-z0-9._-]`` only, with the extension
    of what the file really is."""
    stem = original.rsplit(".", 1)[0] if "." in original else original
    ascii_stem = (
        unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    )
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_stem)
    slug = re.sub(r"\.{2,}", ".", slug).strip(".-_")[:100] or "evidence"
    return slug + EXTENSIONS.get(content_type, ".bin")


def _refuse(name: str, message: str) -> ValidationError:
    return ValidationError(f"{name}: {message}", field="files")


def _named(name: str, data: bytes, content_type: str) -> CheckedFile:
    """The checked file, once its content passed, if its name agrees with it."""
    _check_ending(name, content_type)
    return CheckedFile(name, data, content_type)


def _check_ending(name: str, content_type: str) -> None:
    found = _ENDING.search(name)
    if found and found.group(1).lower() not in NAME_ENDINGS[content_type]:
        expected = EXTENSIONS[content_type]
        raise _refuse(
            name,
            f"the name ends in .{found.group(1)} but the file is "
            f"{_KIND_WORDS[content_type]}: rename it to end in {expected}",
        )


def check_file(raw_name: str | None, data: bytes, *, max_bytes: int) -> CheckedFile:
    """Check one file by its content; the bytes to keep.

    :raises ValidationError: on the ``files`` field, naming the file.
    """
    name = clean_name(raw_name)
    if not data:
        raise _refuse(name, "the file is empty")
    if len(data) > max_bytes:
        raise _refuse(name, f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    if data.startswith(b"%PDF-"):
        return _named(name, _check_pdf(name, data), PDF)
    if data.startswith(b"\xff\xd8\xff"):
        return _named(name, _reencode(name, data, "JPEG"), JPEG)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _named(name, _reencode(name, data, "PNG"), PNG)
    if data.startswith(b"PK\x03\x04"):
        return _named(name, _check_xlsx(name, data), XLSX)
    raise _refuse(
        name,
        f"this kind of file is not accepted. Upload {KINDS_SENTENCE} "
        "(take a photo or save it as a PDF)",
    )


def check_files(uploads: list[tuple[str | None, bytes]], *, max_bytes: int):
    """Check every file of one upload; all pass or the first refusal is raised."""
    uploads = [(name, data) for name, data in uploads if name or data]
    if not uploads:
        raise ValidationError("Choose at least one file to upload", field="files")
    if len(uploads) > MAX_FILES:
        raise ValidationError(
            f"Upload at most {MAX_FILES} files at a time", field="files"
        )
    return [check_file(name, data, max_bytes=max_bytes) for name, data in uploads]


# --- each kind ------------------------------------------------------------------------------


def _check_pdf(name: str, data: bytes) -> bytes:
    """Refuse PDFs that run code (JavaScript, launch actions, actions run on opening or on
    use) or carry other files, in the file as written and inside its Flate-compressed
    streams (where object streams hide them). Names may be written with #xx escapes
    (``/J#61vaScript``): they are decoded first."""
    for chunk in _pdf_layers(name, data):
        if _has_active_content(chunk):
            raise _refuse(
                name,
                "PDFs with scripts, actions or attached files are not accepted: "
                "print it to a new PDF, or take a photo of it",
            )
    return data


def _has_active_content(data: bytes) -> bool:
    for match in _PDF_NAME.finditer(data):
        token = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        if token.lower().decode("latin-1") in _PDF_ACTIVE:
            return True
        if token in _PDF_AUTO_ACTIONS:
            following = data[match.end() : match.end() + 64].lstrip()
            if token == b"AA" or not following.startswith(b"["):
                return True
    return False


def _pdf_layers(name: str, data: bytes):
    """The file's bytes, then the inflated bytes of each stream its dictionary says is
    FlateDecode (images' pixels apart). A stream that does not inflate is skipped (its raw
    bytes were scanned); more than PDF_MAX_INFLATED inflated in all is refused."""
    yield data
    left = PDF_MAX_INFLATED
    for match in _PDF_STREAM.finditer(data):
        names = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        if b"/FlateDecode" not in names or (
            b"/Image" in names and b"/ObjStm" not in names
        ):
            continue  # pixels hold no actions (a scanned page may be large)
        end = data.find(b"endstream", match.end())
        body = data[match.end() : end if end >= 0 else len(data)]
        try:
            inflated = zlib.decompressobj().decompress(body, left + 1)
        except zlib.error:
            continue
        if len(inflated) > left:
            raise _refuse(
                name,
                "the PDF unpacks to more than "
                f"{PDF_MAX_INFLATED // (1024 * 1024)} MB and cannot be checked",
            )
        left -= len(inflated)
        yield inflated


def _reencode(name: str, data: bytes, fmt: str) -> bytes:
    """Open the image with Pillow, refuse pixel bombs, turn it the right way up and save
    it afresh: EXIF, GPS and any text chunks are left behind."""
    unreadable = _refuse(name, "the image could not be read")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                # A phone photo may be an MPO (a JPEG with an MPF block): its first
                # frame is the photo, saved as a plain JPEG below.
                if image.format not in _FORMATS[fmt]:
                    raise unreadable
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise _refuse(
                        name,
                        f"the image is too large ({width} by {height} pixels; at most "
                        f"{MAX_PIXELS // 1_000_000} megapixels)",
                    )
                image.load()
                upright = ImageOps.exif_transpose(image)
                out = io.BytesIO()
                if fmt == "JPEG":
                    if upright.mode not in ("RGB", "L"):
                        upright = upright.convert("RGB")
                    upright.save(out, "JPEG", quality=90, optimize=True)
                else:
                    upright.save(out, "PNG", optimize=True)
                return out.getvalue()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _refuse(name, "the image is too large to open safely") from error
    except Exception as error:  # truncated or malformed image data
        raise unreadable from error


def _check_xlsx(name: str, data: bytes) -> bytes:
    """A workbook: a zip (checked for bombs before anything is unpacked) holding
    ``[Content_Types].xml`` and ``xl/workbook.xml``, with no macros."""
    try:
        parts = check_workbook_zip(data, WORKBOOK_LIMITS, "files")
    except ValidationError as error:
        raise _refuse(name, _lower_first(error.message)) from error
    types, workbook = parts["[Content_Types].xml"], parts["xl/workbook.xml"]
    if not types or not workbook:
        raise _refuse(
            name, f"this kind of file is not accepted. Upload {KINDS_SENTENCE}"
        )
    if b"macroenabled" in types.lower() or b"vbaproject" in types.lower():
        raise _refuse(name, "workbooks with macros are not accepted: save it as .xlsx")
    if b"<!doctype" in types.lower() or b"<!entity" in types.lower():
        raise _refuse(name, "the file could not be read safely")
    return data


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
