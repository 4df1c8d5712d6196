"""Syslog framing, headers and listen addresses: the bad inputs of the syslog receiver (the
bad-input corpus drives HTTP, CLI, MQTT and pulled feeds; a syslog stream is tested here)."""

from __future__ import annotations

import pytest

from tocsin.core.syslog import (
    MAX_MESSAGE_BYTES,
    BadFrame,
    ListenAddress,
    Transport,
    listen_addresses,
    payload,
    split_frames,
)


def test_octet_counting_and_lf_framing_mix_and_keep_partial_frames() -> None:
    first = b"<134>1 - h a - - - CEF:0|a"
    stream = b"%d %s<13>Mar  1 10:00:00 h t: {}\n<13>1 - - - - - - par" % (len(first), first)
    frames, rest = split_frames(stream)
    assert frames == [first, b"<13>Mar  1 10:00:00 h t: {}"]
    assert rest == b"<13>1 - - - - - - par"
    frames, rest = split_frames(b"12 <13>1 - - -")  # 9 of 12 octets so far: wait for more
    assert (frames, rest) == ([], b"12 <13>1 - - -")


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"0 x", "not an octet count"),
        (b"12a <13>", "not an octet count"),
        (b"123456789012345 <13>", "more than 10 digits"),
        (b"%d " % (MAX_MESSAGE_BYTES + 1), "at most"),
        (b"<13>" + b"x" * (MAX_MESSAGE_BYTES + 1), "a line of more than"),
    ],
)
def test_bad_frames_close_the_stream_saying_why(stream: bytes, reason: str) -> None:
    with pytest.raises(BadFrame, match=reason):
        split_frames(stream)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("<134>1 2026-03-01T10:00:00Z fw app 12 ID47 - CEF:0|x", "CEF:0|x"),
        ('<134>1 - fw app - - [a@1 k="v \\] w"][b@2] {"a": 1}', '{"a": 1}'),
        ("<134>1 - fw app - - - \ufeffCEF:0|x", "CEF:0|x"),
        ("<134>Mar  1 10:00:30 fw-01 CEF:0|x", "CEF:0|x"),
        (
            '<13>Mar  1 10:00:30 host suricata[12]: {"event_type": "alert"}',
            '{"event_type": "alert"}',
        ),
    ],
)
def test_the_payload_follows_an_rfc5424_or_rfc3164_header(message: str, expected: str) -> None:
    assert payload(message) == expected


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("CEF:0|x", "no syslog priority"),
        ("<192>1 - - - - - - CEF:0|x", "above 191"),
        ("<13>1 - - -", "TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD"),
        ("<13>1 - h a - - [unclosed CEF:0|x", "structured data"),
        ("<13>1 - h a - - -CEF:0|x", "a space must separate"),
        ("<13>Mar  1 10:00:30 host hello", "no CEF line"),
    ],
)
def test_bad_messages_say_what_is_wrong(message: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        payload(message)


def test_listen_addresses_are_read_and_bad_entries_named() -> None:
    got = listen_addresses("udp://127.0.0.1:5514, tcp://[::1]:6514")
    assert got == (
        ListenAddress(Transport.UDP, "127.0.0.1", 5514),
        ListenAddress(Transport.TCP, "::1", 6514),
    )
    for text, reason in [
        ("udp://127.0.0.1:5514,http://x:1", "entry 2"),
        ("tcp://h:70000", "port 70000"),
        ("udp://h:1,udp://h:1", "given twice"),
        ("", "entry 1"),
    ]:
        with pytest.raises(ValueError, match=reason):
            listen_addresses(text)
