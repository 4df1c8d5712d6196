"""Fetching CAP documents and feeds: HTTP(S) with conditional GET, or a local file.

A request carries `If-None-Match` and `If-Modified-Since` from the last answer, so an unchanged
feed costs a `304 Not Modified` and nothing more. A body is read as it streams and refused as
soon as it passes the size limit, so an oversized answer is never held whole. Network failures
and error answers are `Unavailable` (try again at the next poll), in one sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import urljoin, urlsplit

import httpx

from tocsin.core.errors import InvalidInput, Problem, Unavailable
from tocsin.ports.cap_imports import Fetched

USER_AGENT: Final = "tocsin-cap-import"


class HttpFetcher:
    """Gets documents over HTTP(S) (conditional GET) or from local files."""

    def __init__(self, *, timeout_s: float = 20.0) -> None:
        self.timeout_s = timeout_s

    def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """The document at `url` (a file path or `file://` URL reads the file)."""
        scheme = urlsplit(url).scheme
        if scheme in ("", "file"):
            return self._file(Path(url.removeprefix("file://")), max_bytes=max_bytes)
        if scheme not in ("http", "https"):
            reason = f"unsupported URL scheme {scheme!r} (http, https, or a file)"
            raise InvalidInput([Problem(url, "source", reason)])
        headers = {"User-Agent": USER_AGENT, "Accept": "application/cap+xml, application/xml"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with (
                httpx.Client(timeout=self.timeout_s, follow_redirects=True) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                if response.status_code == 304:
                    return Fetched(url, None, etag, last_modified, not_modified=True)
                if response.status_code >= 400:
                    raise Unavailable(f"{url} answered {response.status_code}")
                body = _bounded(response, url, max_bytes)
                return Fetched(
                    str(response.url),
                    body,
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                )
        except httpx.HTTPError as err:
            raise Unavailable(f"cannot fetch {url}: {err}") from err

    @staticmethod
    def _file(path: Path, *, max_bytes: int) -> Fetched:
        try:
            size = path.stat().st_size
            if size > max_bytes:
                reason = f"{size:,} bytes; documents over {max_bytes:,} bytes are refused"
                raise InvalidInput([Problem(str(path), "size", reason)])
            return Fetched(str(path), path.read_bytes(), None, None)
        except OSError as err:
            raise InvalidInput([Problem(str(path), "source", err.strerror or str(err))]) from err

    @staticmethod
    def resolve(base: str, href: str) -> str:
        """A feed's link resolved against the feed's own URL (or folder, for a file)."""
        return resolve(base, href)


def _bounded(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            reason = f"more than {max_bytes:,} bytes; documents that large are refused"
            raise InvalidInput([Problem(url, "size", reason)])
        chunks.append(chunk)
    return b"".join(chunks)


def resolve(base: str, href: str) -> str:
    """A feed's link resolved against the feed's own URL (or folder, for a file)."""
    if urlsplit(base).scheme in ("http", "https", "file"):
        return urljoin(base, href)
    if urlsplit(href).scheme:
        return href
    return str(Path(base).parent / href)
