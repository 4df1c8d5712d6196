"""Feeds of CAP alerts: the Atom feed Tocsin publishes, and the documents it reads from others
(a single CAP 1.2 alert, an Atom feed, an RSS 2.0 feed).

Our feed is an Atom index (RFC 4287): one entry per active alert with its headline, the start
of its description, its domain, level and msgType as categories, and a link to its CAP document
(`application/cap+xml`); with `full`, each entry also embeds the alert in its `content`, for
readers that take the alerts from the feed itself. Entries are rendered once, when an alert is
published, and stored; a feed is their concatenation. (No CAP elements are put in the entries
themselves: only `alert` is declared by the CAP schema, so strict Atom readers refuse them.)

Reading, a feed's entries either embed a CAP alert in their `content` or link to one (a link
typed `application/cap+xml`, else the entry's alternate link); an entry with neither, a feed
without an `id`, or a CAP alert outside any entry is refused, naming where.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from tocsin.adapters.cap.documents import NS as CAP
from tocsin.adapters.cap.documents import parse_untrusted
from tocsin.core.cap.lifecycle import PublicAlert
from tocsin.core.cap.message import CAP_NAMESPACE, Info
from tocsin.core.errors import InvalidInput, Problem

ATOM_NAMESPACE: Final = "http://www.w3.org/2005/Atom"
ATOM: Final = f"{{{ATOM_NAMESPACE}}}"
CAP_TYPE: Final = "application/cap+xml"
SUMMARY_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A feed entry that links to a CAP document (resolved against the feed's URL later)."""

    href: str
    entry_id: str
    updated: str
    where: str


@dataclass(frozen=True, slots=True)
class Embedded:
    """A CAP alert element found in a document, and where."""

    element: ET.Element
    where: str


@dataclass(frozen=True, slots=True)
class CapDocument:
    """What an untrusted document holds: alerts in it, and links to more."""

    kind: str  # alert, atom or rss
    alerts: tuple[Embedded, ...]
    links: tuple[FeedLink, ...] = ()


# -- writing -------------------------------------------------------------------------------


def info_in(alert: PublicAlert, language: str | None) -> Info | None:
    """The info block in a language (exact tag, else primary tag), else the first."""
    infos = alert.message.infos
    if not infos:
        return None
    if language:
        wanted = language.lower()
        for test in (lambda i: i.language.lower() == wanted, lambda i: _primary(i) == wanted[:2]):
            found = [i for i in infos if test(i)]
            if found:
                return found[0]
    return infos[0]


def _primary(info: Info) -> str:
    return info.language.split("-")[0].lower()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def atom_entry(alert: PublicAlert, *, language: str | None, url: str, page: str) -> str:
    """One feed entry for a published alert, in a language (its info block in that language):
    one line, the essentials only (the CAP document behind the link has the rest)."""
    info = info_in(alert, language)
    message = alert.message
    published = _rfc3339(alert.published_at or message.sent)
    title = (info.headline or info.event) if info else alert.identifier
    summary = ((info.description or "") if info else "")[:SUMMARY_MAX]
    parts = [
        f"<entry><id>{escape(url)}</id><title>{escape(title)}</title>",
        f"<updated>{published}</updated><summary>{escape(summary)}</summary>",
        f"<category term={quoteattr(alert.domain)}/>",
        f'<category term={quoteattr(alert.level.value)} scheme="urn:tocsin:level"/>',
        f'<link rel="alternate" type="{CAP_TYPE}" href={quoteattr(url)}/>',
        f'<link rel="related" type="text/html" href={quoteattr(page)}/>',
        f'<category term={quoteattr(message.msg_type.value)} scheme="urn:tocsin:msgType"/>',
        "</entry>",
    ]
    return "".join(parts)


def embedded(entry: bytes, document: str) -> bytes:
    """An entry that carries its CAP alert in its `content` (the document without its XML
    declaration), for readers that take the alerts from the feed itself."""
    body = document.split("?>", 1)[1].lstrip() if document.startswith("<?xml") else document
    opening = f'<content type="{CAP_TYPE}">'.encode()
    return entry.removesuffix(b"</entry>") + opening + body.encode() + b"</content></entry>"


def atom_feed(
    entries: Iterable[bytes],
    *,
    feed_id: str,
    title: str,
    self_url: str,
    updated: datetime,
    author: str,
) -> bytes:
    """An Atom feed document of pre-rendered entries (UTF-8 bytes, joined as they are)."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<feed xmlns="{ATOM_NAMESPACE}" xmlns:cap="{CAP_NAMESPACE}">\n'
        f"<id>{escape(feed_id)}</id>\n<title>{escape(title)}</title>\n"
        f"<updated>{_rfc3339(updated)}</updated>\n"
        f"<author><name>{escape(author)}</name></author>\n"
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>\n'
        "<generator>Tocsin</generator>\n"
    )
    return head.encode() + b"\n".join(entries) + b"\n</feed>\n"


# -- reading -------------------------------------------------------------------------------


def read_document(data: bytes, *, where: str, max_bytes: int) -> CapDocument:
    """A CAP 1.2 alert or an Atom/RSS feed of them; InvalidInput, naming where, otherwise."""
    root = parse_untrusted(data, where=where, max_bytes=max_bytes)
    if root.tag == CAP + "alert":
        return CapDocument("alert", (Embedded(root, where),))
    if root.tag == ATOM + "feed":
        return _atom(root, where)
    if root.tag == "rss":
        return _rss(root, where)
    raise InvalidInput([Problem(where, "document", _unknown_root(root.tag))])


def _unknown_root(tag: str) -> str:
    namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if name == "alert":
        return f"an alert in namespace {namespace or '(none)'!r}, not CAP 1.2's {CAP_NAMESPACE!r}"
    return f"root element {name!r} is neither a CAP 1.2 alert nor an Atom or RSS feed"


def _atom(root: ET.Element, where: str) -> CapDocument:
    problems: list[Problem] = []
    if not (root.findtext(ATOM + "id") or "").strip():
        problems.append(Problem(f"{where}/feed", "id", "an Atom feed needs an <id>"))
    alerts: list[Embedded] = []
    links: list[FeedLink] = []
    placed: set[int] = set()
    for i, entry in enumerate(root.findall(ATOM + "entry")):
        at = f"{where}/feed/entry[{i + 1}]"
        entry_id = (entry.findtext(ATOM + "id") or "").strip()
        if not entry_id:
            problems.append(Problem(at, "id", "an Atom entry needs an <id>"))
        content = entry.find(ATOM + "content")
        embedded = content.find(CAP + "alert") if content is not None else None
        if embedded is not None:
            placed.add(id(embedded))
            alerts.append(Embedded(embedded, f"{at}/content/alert"))
            continue
        href = _cap_link(entry)
        if href is None:
            reason = "neither an embedded CAP alert nor a link to one"
            problems.append(Problem(at, "content", reason))
        else:
            updated = (entry.findtext(ATOM + "updated") or "").strip()
            links.append(FeedLink(href, entry_id, updated, at))
    problems += _misplaced(root, placed, where, inside="an entry's content")
    if problems:
        raise InvalidInput(problems)
    return CapDocument("atom", tuple(alerts), tuple(links))


def _cap_link(entry: ET.Element) -> str | None:
    links = [e for e in entry.findall(ATOM + "link") if (e.get("href") or "").strip()]
    typed = [e for e in links if "cap" in (e.get("type") or "")]
    alternate = [e for e in links if (e.get("rel") or "alternate") == "alternate"]
    chosen: Sequence[ET.Element] = typed or alternate
    return (chosen[0].get("href") or "").strip() if chosen else None


def _rss(root: ET.Element, where: str) -> CapDocument:
    problems: list[Problem] = []
    alerts: list[Embedded] = []
    links: list[FeedLink] = []
    placed: set[int] = set()
    channel = root.find("channel")
    items = channel.findall("item") if channel is not None else []
    for i, item in enumerate(items):
        at = f"{where}/rss/channel/item[{i + 1}]"
        embedded = next(item.iter(CAP + "alert"), None)
        if embedded is not None:
            placed.add(id(embedded))
            alerts.append(Embedded(embedded, f"{at}/alert"))
            continue
        enclosure = item.find("enclosure")
        href = (item.findtext("link") or "").strip() or (
            (enclosure.get("url") or "").strip() if enclosure is not None else ""
        )
        if not href:
            problems.append(Problem(at, "link", "neither an embedded CAP alert nor a link to one"))
            continue
        guid = (item.findtext("guid") or href).strip()
        links.append(FeedLink(href, guid, (item.findtext("pubDate") or "").strip(), at))
    if channel is None:
        problems.append(Problem(f"{where}/rss", "channel", "an RSS feed needs a <channel>"))
    problems += _misplaced(root, placed, where, inside="an item")
    if problems:
        raise InvalidInput(problems)
    return CapDocument("rss", tuple(alerts), tuple(links))


def _misplaced(root: ET.Element, placed: set[int], where: str, *, inside: str) -> list[Problem]:
    return [
        Problem(where, "alert", f"a CAP alert outside {inside} (foreign markup, not an alert)")
        for element in root.iter(CAP + "alert")
        if id(element) not in placed
    ]
