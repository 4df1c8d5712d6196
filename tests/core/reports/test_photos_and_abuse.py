"""Photos lose their metadata; abuse limits count per key; attributes are checked."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from tests.core.reports.photos import GPS_TEXT, jpeg_with_exif_gps, png_with_text
from tocsin.core.errors import InvalidInput
from tocsin.core.levels import Level
from tocsin.core.report_abuse import RateLimit, address_range
from tocsin.core.report_photos import clean_photo
from tocsin.core.report_types import (
    AttributeValue,
    ClusterRule,
    Datatype,
    ReportAttribute,
    ReportType,
    attribute_problems,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_jpeg_loses_exif_gps_and_comments_and_still_decodes() -> None:
    raw = jpeg_with_exif_gps()
    assert b"Exif" in raw
    assert GPS_TEXT in raw
    assert b"taken at home" in raw
    photo = clean_photo(raw, max_bytes=1_000_000)
    assert photo.media_type == "image/jpeg"
    assert b"Exif" not in photo.data
    assert GPS_TEXT not in photo.data
    assert b"taken at home" not in photo.data
    image = Image.open(io.BytesIO(photo.data))
    image.load()
    assert image.size == (16, 16)
    assert not image.getexif()


def test_a_png_keeps_only_the_chunks_that_draw_it() -> None:
    photo = clean_photo(png_with_text(), max_bytes=1_000_000)
    assert photo.media_type == "image/png"
    assert GPS_TEXT not in photo.data
    image = Image.open(io.BytesIO(photo.data))
    image.load()
    assert image.size == (2, 2)
    assert not image.info.get("Comment")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a....", "not a JPEG or PNG"),
        (b"\xff\xd8\xff\xe1\x00\x40short", "runs past the end"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", "no IEND"),
        (b"\xff\xd8" + b"\x00" * 10, "no marker"),
    ],
)
def test_anything_else_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        clean_photo(data, max_bytes=1_000)


def test_a_photo_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at most 100"):
        clean_photo(jpeg_with_exif_gps(), max_bytes=100)


def test_the_rate_limit_counts_per_key_within_its_window() -> None:
    limit = RateLimit(3, timedelta(minutes=10))
    waits = [limit.retry_after("k", now=T0 + timedelta(minutes=i)) for i in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(7 * 60)
    assert limit.retry_after("other", now=T0) == 0.0
    assert limit.retry_after("k", now=T0 + timedelta(minutes=10)) == 0.0  # the first aged out


def test_addresses_are_counted_by_their_network() -> None:
    assert address_range("192.0.2.77") == address_range("192.0.2.1") == "192.0.2.0/24"
    assert address_range("2001:db8:1:2a::7") == "2001:db8:1::/56"
    assert address_range("testclient") == "testclient"


KIND = ReportType(
    "gas_smell",
    "Gas",
    "supply.energy",
    attributes=(
        ReportAttribute(
            "strength",
            Datatype.SINGLEVALUELIST,
            "How strong?",
            1,
            required=True,
            values=(AttributeValue("faint", "Faint"), AttributeValue("strong", "Strong")),
        ),
        ReportAttribute("depth", Datatype.NUMBER, "Depth", 2),
        ReportAttribute("seen", Datatype.DATETIME, "When", 3),
        ReportAttribute(
            "where", Datatype.MULTIVALUELIST, "Where", 4, values=(AttributeValue("in", "In"),)
        ),
    ),
    cluster_rules=(ClusterRule(3, Level.YELLOW), ClusterRule(5, Level.ORANGE)),
)


def test_attributes_are_checked_by_datatype_and_every_problem_is_listed() -> None:
    ok, none = attribute_problems(
        KIND, {"strength": ["strong"], "depth": ["12.5"], "where": ["in", "in"]}
    )
    assert none == []
    assert ok == {"strength": "strong", "depth": "12.5", "where": ["in", "in"]}
    _, problems = attribute_problems(
        KIND, {"depth": ["deep"], "seen": ["2026-01-01T10:00"], "where": ["out"], "x": ["1"]}
    )
    reasons = {p.field: p.reason for p in problems}
    assert reasons == {
        "attribute[x]": "no such attribute",
        "attribute[strength]": "required",
        "attribute[depth]": "not a number",
        "attribute[seen]": "a date-time needs its offset (Z or ±HH:MM)",
        "attribute[where]": "not one of ['in']: ['out']",
    }


def test_the_highest_rule_a_cluster_meets_gives_its_level() -> None:
    assert [KIND.level_for(n) for n in (2, 3, 4, 5, 9)] == [
        None,
        Level.YELLOW,
        Level.YELLOW,
        Level.ORANGE,
        Level.ORANGE,
    ]
