"""Deduplication: stable identities for warnings and notifications.

A warning's fingerprint (see `model.fingerprint`) makes the same risk one open warning. A
notification's idempotency key is derived from what it says, never from when it was computed
nor from a counter that can start again: the same group flush (the group plus the content it
notifies), escalation step or silence notice always gets the same key, and different content
never does. So a dispatcher re-running after a crash writes nothing new, and a receiver that
drops a key it has seen drops only a redelivery of the same notification.
"""

from __future__ import annotations

import hashlib


def idempotency_key(kind: str, *parts: str) -> str:
    """A key for one logical notification: kind plus the parts that identify it."""
    raw = "\x1f".join((kind, *parts)).encode()
    return f"{kind}-{hashlib.sha256(raw).hexdigest()[:32]}"


def channel_key(notification_key: str, channel: str, address: str) -> str:
    """The key of one delivery of a notification to one channel address."""
    raw = "\x1f".join((notification_key, channel, address)).encode()
    return f"{notification_key[:12]}-{hashlib.sha256(raw).hexdigest()[:20]}"


def group_flush_key(group_id: str, content: str) -> str:
    """The key of a group's notification of `content` (see grouping.flush_content)."""
    return idempotency_key("group", group_id, content)


def escalation_key(warning_id: str, started_at_iso: str, step: int) -> str:
    """The key of one escalation step of one escalation run of a warning."""
    return idempotency_key("escalation", warning_id, started_at_iso, str(step))


def silence_notice_key(silence_id: str, what: str) -> str:
    """The key of a silence's creation or expiry notice."""
    return idempotency_key("silence", silence_id, what)
