"""Photos attached to reports: only JPEG and PNG, bounded in size, with every metadata block
(EXIF with its GPS position, XMP, IPTC, comments, text chunks) removed before storage.

JPEG (ITU-T T.81) is a chain of marker segments up to the scan; APPn and COM segments carry
metadata and are dropped, the others are kept byte for byte. PNG (ISO/IEC 15948) is a chain of
chunks; only those needed to draw the image are kept.
"""

from __future__ import annotations

import struct

from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.reports import Photo

JPEG_MAGIC = b"\xff\xd8"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_KEEP = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"sRGB", b"cHRM"})
JPEG_SOS = 0xDA
JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: markers without a length


def _bad(reason: str) -> InvalidInput:
    return InvalidInput([Problem("form", "media", reason)])


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without APPn and COM segments."""
    out = [JPEG_MAGIC]
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise _bad(f"not a JPEG: no marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in JPEG_NO_LENGTH:
            out.append(data[pos : pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise _bad(f"not a JPEG: a segment at byte {pos} runs past the end")
        if marker == JPEG_SOS:
            out.append(data[pos:])  # the scan and what follows hold image data only
            return b"".join(out)
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            out.append(data[pos : pos + 2 + length])
        pos += 2 + length
    raise _bad("not a JPEG: no image data")


def strip_png(data: bytes) -> bytes:
    """The PNG with only the chunks needed to draw it."""
    out = [PNG_MAGIC]
    pos = len(PNG_MAGIC)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _bad(f"not a PNG: a chunk at byte {pos} runs past the end")
        if kind in PNG_KEEP:
            out.append(data[pos:end])
        if kind == b"IEND":
            return b"".join(out)
        pos = end
    raise _bad("not a PNG: no IEND chunk")


STRIPPERS = {"image/jpeg": (JPEG_MAGIC, strip_jpeg), "image/png": (PNG_MAGIC, strip_png)}


def clean_photo(data: bytes, *, max_bytes: int) -> Photo:
    """The photo, checked (JPEG or PNG by its content, at most `max_bytes`) and stripped of
    metadata; InvalidInput otherwise."""
    if len(data) > max_bytes:
        raise _bad(f"{len(data):,} bytes; at most {max_bytes:,}")
    for media_type, (magic, strip) in STRIPPERS.items():
        if data.startswith(magic):
            return Photo(media_type, strip(data))
    raise _bad("not a JPEG or PNG image")
