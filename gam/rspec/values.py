"""Checks for the values inside a request: addresses, masks, link properties.

Each function takes the raw attribute text and a ``where`` phrase for the
message, and raises BadArgs saying what to fix.
"""
import ipaddress
import math

from gam.errors import BadArgs
from gam.rspec.model import IP


def ip(address, netmask, type_, where):
    """An IP from ``<ip address netmask type>``.

    IPv4 masks may be dotted (255.255.255.0) or a prefix length (24); IPv6
    masks a prefix length (64, or /64). The type defaults to the address's.
    """
    try:
        addr = ipaddress.ip_address(address.strip())
    except ValueError:
        raise BadArgs("%s: %r is not an IP address: write an IPv4 address like "
                      "10.10.1.1 or an IPv6 address" % (where, address)) from None
    kind = "ipv%d" % addr.version
    if type_ is not None and type_.strip():
        given = type_.strip().lower()
        if given not in ("ipv4", "ipv6"):
            raise BadArgs("%s: ip type %r is unknown: use type=\"ipv4\" or \"ipv6\""
                          % (where, type_))
        if given != kind:
            raise BadArgs("%s: address %s is %s but type says %s: fix the type or the "
                          "address" % (where, address, kind, given))
    if netmask is not None:
        netmask = netmask.strip()
        if not _is_mask(netmask, addr.version):
            example = "255.255.255.0 or 24" if addr.version == 4 else "64"
            raise BadArgs("%s: netmask %r is not a network mask for an %s address: "
                          "write it like %s" % (where, netmask, kind, example))
    return IP(str(addr) if addr.version == 6 else address.strip(), netmask or None, kind)


def _is_mask(text, version):
    bits = 32 if version == 4 else 128
    prefix = text[1:] if text.startswith("/") else text
    if prefix.isdigit():
        return 0 <= int(prefix) <= bits
    if version != 4:
        return False
    try:
        value = int(ipaddress.IPv4Address(text))
    except ValueError:
        return False
    inverted = ~value & 0xFFFFFFFF
    return (inverted & (inverted + 1)) == 0  # ones then zeros, nothing else


def capacity_kbps(text, where):
    """Link capacity in kbit/s: a whole number (a float with no fraction is accepted)."""
    value = _number(text, where, "capacity", "kbit/s, e.g. capacity=\"100000\"")
    if value != int(value):
        raise BadArgs("%s: capacity %r must be a whole number of kbit/s" % (where, text))
    return int(value)


def latency_ms(text, where):
    value = _number(text, where, "latency", "milliseconds, e.g. latency=\"10\"")
    return int(value) if value == int(value) else value


def packet_loss(text, where):
    value = _number(text, where, "packet_loss", "a fraction from 0 to 1, e.g. 0.01")
    if value > 1:
        raise BadArgs("%s: packet_loss %r is more than 1; it is a fraction (0.01 = 1%%)"
                      % (where, text))
    return value


def _number(text, where, what, unit):
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise BadArgs("%s: %s %r is not a number >= 0: give it in %s"
                      % (where, what, text, unit))
    return value


def positive_int(text, where, what):
    """A positive whole number from an extension attribute."""
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise BadArgs("%s: %s=%r is not a positive whole number" % (where, what, text))
    return value
