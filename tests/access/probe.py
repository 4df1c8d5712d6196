"""A principal's client for the access tests: every body it receives is scanned for the
configuration's secrets and for the markers of every resource the principal must not see."""

from __future__ import annotations

from typing import Any

import httpx

from tests.access.world import SECRETS, Thing, Who, World


class Probe:
    """One principal's client; every body it receives is scanned for what it must not see."""

    def __init__(self, world: World, who: Who) -> None:
        self.world = world
        self.who = who
        headers = {"Authorization": f"Bearer {world.tokens[who.name]}"}
        self.client = httpx.Client(base_url=world.url, headers=headers, timeout=60)
        self.unseen = [t for t in world.things if not who.sees_thing(t)]

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()

    def send(
        self, method: str, url: str, *, json: Any = None, about: Thing | None = None, **kw: Any
    ) -> httpx.Response:
        """A request; fails the test if the body carries a marker of an unseen resource (other
        than the one the request named itself)."""
        response = self.client.request(method, url, json=json, **kw)
        text = response.text
        for secret in SECRETS:
            assert secret not in text, f"{self.who.name} {method} {url} shows a secret"
        for thing in self.unseen:
            if thing is about:
                continue
            for marker in thing.markers:
                assert marker not in text, (
                    f"{self.who.name} {method} {url} leaks {thing.kind} {thing.key}"
                )
        return response
