"""The URN operations the RSpec code needs, on top of :mod:`gam.auth.urn`."""
from gam.auth.urn import URN, URNError


def split(urn):
    """``(authority, type, name)`` of a GENI URN, or None if it is not one."""
    try:
        parsed = URN.parse(urn)
    except URNError:
        return None
    return parsed.authority, parsed.type, parsed.name


def same_authority(a, b):
    """Authorities compare case-insensitively."""
    return a.lower() == b.lower()


def make(authority, type_, name):
    """``urn:publicid:IDN+authority+type+name``."""
    return str(URN(authority, type_, name))
