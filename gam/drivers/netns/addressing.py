"""Requested IPv4 addresses: checked before anything is made.

An address comes with a netmask (dotted, ``255.255.255.0``, or a prefix
length, ``24``); without one, /24 is assumed. Addresses that cannot be a
host's on a LAN (malformed, loopback, multicast, reserved, the network
or broadcast address of their subnet) and two ends with one address are
refused with BADARGS, naming the interface.
"""
import ipaddress

from gam.drivers.base import DriverError
from gam.errors import GeniCode

DEFAULT_PREFIX = 24


def _bad(message):
    return DriverError(message, geni_code=GeniCode.BADARGS)


def interface(address, netmask, where):
    """An ``ipaddress.IPv4Interface``, or None when no address is asked for."""
    if address in (None, ""):
        return None
    try:
        ip = ipaddress.IPv4Address(str(address).strip())
    except ValueError:
        raise _bad(f"{where}: requested address {address!r} is not an IPv4 address (four "
                   "numbers from 0 to 255, like 10.0.0.1); fix the request") from None
    mask = str(netmask).strip() if netmask not in (None, "") else str(DEFAULT_PREFIX)
    try:
        iface = ipaddress.IPv4Interface(f"{ip}/{mask}")
    except ValueError:
        raise _bad(f"{where}: netmask {netmask!r} is not an IPv4 netmask (like 255.255.255.0 "
                   "or 24); fix the request") from None
    if ip.is_loopback or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        raise _bad(f"{where}: {ip} is a loopback, multicast, unspecified or reserved address, "
                   "not one for an interface; pick a private address such as 10.0.0.1")
    net = iface.network
    if net.prefixlen < 31 and ip in (net.network_address, net.broadcast_address):
        raise _bad(f"{where}: {ip} is the {'network' if ip == net.network_address else 'broadcast'}"
                   f" address of {net}; pick a host address in it")
    return iface


def check_unique(entries, what):
    """``entries``: [(where, IPv4Interface or None)]; refuse duplicates."""
    seen = {}
    for where, iface in entries:
        if iface is None:
            continue
        if iface.ip in seen:
            raise _bad(f"{what}: address {iface.ip} is requested for both {seen[iface.ip]} "
                       f"and {where}; give each interface its own address")
        seen[iface.ip] = where
