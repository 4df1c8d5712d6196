"""Syslog as a transport of security alerts: listen addresses, TCP framing, message headers.

A SIEM or a sensor forwards its alerts over syslog: UDP (RFC 5426, one message per datagram) or
TCP (RFC 6587), framed either by octet counting (`LEN SP MSG`, section 3.4.1) or by a line feed
after each message (non-transparent framing, section 3.4.2); a frame starting with a digit is
octet-counted, any other with LF (a syslog message starts with `<`). The message carries an
RFC 5424 header (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) or an RFC 3164 one
(`<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`); its MSG is a CEF line or a Wazuh/Suricata JSON alert,
found by its own start (`CEF:` or `{`). Only the payload is read: the header's host and time are
the relay's, and the alert names its own (docs/exposure.md, "Security alerts in").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_MESSAGE_BYTES = 64 * 1024
"""The largest message read (RFC 5425 asks receivers to take at least 2,048 octets; 64 KiB holds
a UDP datagram whole)."""

_PRI = re.compile(r"<(\d{1,3})>")
_LISTEN = re.compile(r"(udp|tcp)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")
_SD_ELEMENT = re.compile(r'\[[^\]\s="]+(?:\s+[^\]\s="]+="(?:[^"\\]|\\.)*")*\s*\]')


class Transport(StrEnum):
    """How messages arrive."""

    UDP = "udp"
    TCP = "tcp"


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where to listen: transport, host and port."""

    transport: Transport
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}://{self.host}:{self.port}"


def listen_addresses(text: str) -> tuple[ListenAddress, ...]:
    """`udp://HOST:PORT,tcp://HOST:PORT` as addresses; ValueError naming the entry at fault."""
    out: list[ListenAddress] = []
    for n, entry in enumerate(text.split(","), 1):
        found = _LISTEN.fullmatch(entry.strip())
        if found is None:
            raise ValueError(f"entry {n} ({entry.strip()[:80]!r}): not udp://HOST:PORT or tcp://…")
        port = int(found.group(3))
        if not 1 <= port <= 65535:
            raise ValueError(f"entry {n} ({entry.strip()}): port {port} is not 1-65535")
        host = found.group(2).strip("[]")
        address = ListenAddress(Transport(found.group(1)), host, port)
        if address in out:
            raise ValueError(f"entry {n} ({entry.strip()}): given twice")
        out.append(address)
    return tuple(out)


class BadFrame(ValueError):
    """A TCP stream that is not framed as RFC 6587 says (the connection is closed)."""


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The whole frames at the start of a TCP stream's buffer, and what is left of it."""
    frames: list[bytes] = []
    while buffer:
        if buffer[:1].isdigit():
            space = buffer.find(b" ", 0, 12)
            if space < 0:
                if len(buffer) >= 12:
                    raise BadFrame("an octet count of more than 10 digits or without a space")
                break
            if not buffer[:space].isdigit() or buffer[:1] == b"0":
                raise BadFrame(f"not an octet count: {buffer[:space][:12]!r}")
            size = int(buffer[:space])
            if size > MAX_MESSAGE_BYTES:
                raise BadFrame(f"a frame of {size:,} octets (at most {MAX_MESSAGE_BYTES:,})")
            if len(buffer) < space + 1 + size:
                break
            frames.append(buffer[space + 1 : space + 1 + size])
            buffer = buffer[space + 1 + size :]
            continue
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_MESSAGE_BYTES:
                raise BadFrame(f"a line of more than {MAX_MESSAGE_BYTES:,} octets")
            break
        frames.append(buffer[:end].rstrip(b"\r"))
        buffer = buffer[end + 1 :]
    return [f for f in frames if f.strip(b"\x00 \t")], buffer


def payload(message: str) -> str:
    """The MSG of an RFC 5424 or RFC 3164 message; ValueError saying what is wrong."""
    found = _PRI.match(message)
    if found is None:
        raise ValueError("no syslog priority: a message starts with <PRI> (e.g. <134>)")
    if int(found.group(1)) > 191:
        raise ValueError(f"priority {found.group(1)} is above 191 (facility 23, severity 7)")
    rest = message[found.end() :]
    if rest.startswith("1 "):
        return _rfc5424_msg(rest[2:])
    return _rfc3164_msg(rest)


def _rfc5424_msg(rest: str) -> str:
    """After `<PRI>1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, then SD, then MSG."""
    fields = rest.split(" ", 5)
    if len(fields) < 6:
        raise ValueError("an RFC 5424 header has TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD")
    data = fields[5]
    if data.startswith("-"):
        msg = data[1:]
    else:
        at = 0
        while (element := _SD_ELEMENT.match(data, at)) is not None:
            at = element.end()
        if at == 0:
            raise ValueError("RFC 5424 structured data is '-' or [id name=\"value\" …]")
        msg = data[at:]
    if msg and not msg.startswith(" "):
        raise ValueError("RFC 5424: a space must separate the structured data from MSG")
    return msg[1:].removeprefix("\ufeff")


def _rfc3164_msg(rest: str) -> str:
    """After `<PRI>`: the alert starts at its own mark (`CEF:` or `{`) within the message."""
    starts = [i for i in (rest.find("CEF:"), rest.find("{")) if i >= 0]
    if not starts:
        raise ValueError("no CEF line (CEF:…) or JSON alert ({…}) in the message")
    return rest[min(starts) :]
