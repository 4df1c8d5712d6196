"""What a source's counts keep of the series no rule maps."""

from __future__ import annotations

from tocsin.core.sources import MAX_EXAMPLE_CHARS, SourceCounts, series_name


def test_an_unmapped_series_with_megabytes_of_labels_is_kept_cut_short() -> None:
    """A remote write's label (or a line's tag) may be megabytes: the 100 latest examples were
    kept whole in memory and answered whole by GET /api/v1/sources."""
    counts = SourceCounts()
    huge = series_name({"__name__": "x", "station": "D" * 5_000_000})
    for _ in range(3):
        counts.unmapped_series(huge)
    counts.unmapped_series("up{}")
    assert counts.unmapped == 4
    assert counts.examples == {
        f"{huge[:MAX_EXAMPLE_CHARS]}… ({len(huge):,} characters)": 3,
        "up{}": 1,
    }
