"""The address range a report's sender is counted in: the dotted-quad fast path answers as the
`ipaddress` module does, for every string."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.report_abuse import address_range


def reference(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = 24 if ip.version == 4 else 56
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def test_known_addresses() -> None:
    assert address_range("198.51.100.7") == "198.51.100.0/24"
    assert address_range("2001:db8:1:2::7") == "2001:db8:1::/56"
    assert address_range("testclient") == "testclient"
    assert address_range("01.2.3.4") == "01.2.3.4"  # a leading zero is no IPv4 address
    assert address_range("256.1.1.1") == "256.1.1.1"


octet = st.one_of(
    st.integers(0, 300).map(str),
    st.text("0123456789", min_size=1, max_size=4),
    st.text(min_size=0, max_size=3),
)


@given(st.lists(octet, min_size=1, max_size=6).map(".".join))
def test_dotted_strings_range_as_ipaddress_says(address: str) -> None:
    assert address_range(address) == reference(address)


@given(st.ip_addresses())
def test_every_ip_address_ranges_as_ipaddress_says(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert address_range(str(ip)) == reference(str(ip))
