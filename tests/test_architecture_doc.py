"""docs/architecture.md names every package of src/tocsin (so the map cannot drift)."""

from __future__ import annotations

from tests.conftest import REPO


def test_every_package_is_on_the_map() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    root = REPO / "src"
    packages = {
        p.relative_to(root).as_posix() + "/"
        for p in (root / "tocsin").rglob("*")
        if p.is_dir() and any(p.glob("*.py")) and "migrations" not in p.parts
    }
    missing = sorted(p for p in packages if f"`{p}`" not in text and p != "tocsin/")
    assert missing == []
