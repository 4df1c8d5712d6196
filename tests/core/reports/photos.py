"""Small real images with metadata, built here byte by byte (JPEG by Pillow, PNG by zlib)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_TEXT = b"GPSLatitude 45.5123 GPSLongitude 10.5123"


def jpeg_with_exif_gps() -> bytes:
    """A 16x16 JPEG carrying an EXIF GPS block and a comment."""
    image = Image.new("RGB", (16, 16), (200, 30, 30))
    exif = Image.Exif()
    gps = {1: "N", 2: (45.0, 30.0, 44.0), 3: "E", 4: (10.0, 30.0, 44.0)}
    exif[0x8825] = gps  # GPSInfo
    exif[0x010E] = GPS_TEXT.decode()  # ImageDescription
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"taken at home")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_text() -> bytes:
    """A 2x2 greyscale PNG with a tEXt chunk holding a position."""
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x10\x20\x00\x30\x40")
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"tEXt", b"Comment\x00" + GPS_TEXT),
            _chunk(b"IDAT", pixels),
            _chunk(b"IEND", b""),
        ]
    )
