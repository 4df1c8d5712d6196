"""Version order per package type, from univers (a well-kept library of ecosystem version rules).

Package URLs are ordered by the rules of their type (PyPI's PEP 440, npm's semver, Maven,
Debian, RPM, …: `univers.version_range.RANGE_CLASS_BY_SCHEMES`). CPE versions, which follow no
one scheme, are ordered as RPM's `rpmvercmp` does: digits and letters split into segments,
numbers compared as numbers ("1.10" > "1.9"), letters as text ("1.1.1k" > "1.1.1j"), and a longer
version after an equal prefix is the later one ("1.0.1" > "1.0"). A version a scheme cannot
parse is compared by the same generic rule, so a feed's odd version never stops a match.
"""

from __future__ import annotations

from functools import cache

from univers.version_range import RANGE_CLASS_BY_SCHEMES
from univers.versions import InvalidVersion, RpmVersion, Version

from tocsin.core.exposure.matching import CPE_SCHEME


@cache
def _version(scheme: str, text: str) -> Version:
    range_class = RANGE_CLASS_BY_SCHEMES.get(scheme)
    version_class = range_class.version_class if range_class and scheme != CPE_SCHEME else None
    if version_class is not None:
        try:
            return version_class(text)
        except (InvalidVersion, ValueError, TypeError):
            pass
    return RpmVersion(text)


class UniversOrder:
    """The VersionOrder of the exposure matcher, by univers."""

    def compare(self, left: str, right: str, *, scheme: str) -> int:
        """Negative, zero or positive as left is before, equal to or after right."""
        a, b = _version(scheme, left), _version(scheme, right)
        if type(a) is not type(b):
            a, b = RpmVersion(left), RpmVersion(right)
        return -1 if a < b else (1 if a > b else 0)
