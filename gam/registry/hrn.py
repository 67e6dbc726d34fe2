"""SFA human-readable names (HRNs) and the "xrn" arguments of the registry.

An HRN is the dotted form of a URN: ``gam.lab.alice`` is the user
``urn:publicid:IDN+gam:lab+user+alice`` (or a slice or node of that name),
and ``gam.lab`` is the authority ``urn:publicid:IDN+gam:lab+authority+sa``.
A dot inside one URN part is written ``\\.``. An HRN does not carry the
record type: :func:`candidates` lists every URN an HRN may stand for, and
the registry keeps the one it holds.

Registry records are addressed by :func:`record_key`, which folds the
case of the authority (URN authorities compare case-insensitively) and
maps every authority URN of a namespace (``+authority+sa``, ``+authority+ma``)
to that namespace.
"""
import re

from gam.auth.urn import SLICE_NAME_RE, URN, URNError, USER_NAME_RE
from gam.errors import BadArgs

RECORD_TYPES = ("authority", "user", "slice", "node")

#: Type names SFA clients send, folded to the four record types.
_TYPE_ALIASES = {
    "authority": "authority", "authority+sa": "authority", "authority+am": "authority",
    "authority+ma": "authority", "authority+sm": "authority", "sa": "authority",
    "ma": "authority", "user": "user", "slice": "slice", "node": "node",
}

_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_NODE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")


class BadHRN(BadArgs):
    default_reason = "bad-hrn"


def normalise_type(value):
    """One of RECORD_TYPES for an SFA type argument; None for none given."""
    if value is None or value == "" or value in ("*", "all"):
        return None
    if not isinstance(value, str):
        raise BadArgs(f"the record type must be a string such as 'slice', not "
                      f"{type(value).__name__}")
    folded = _TYPE_ALIASES.get(value.strip().lower())
    if folded is None:
        raise BadArgs(f"unknown record type {value!r}: use one of {', '.join(RECORD_TYPES)}",
                      reason="bad-type")
    return folded


def split_hrn(hrn):
    """The parts of an HRN, with ``\\.`` unescaped; BadHRN when malformed."""
    if not isinstance(hrn, str) or not hrn.strip():
        raise BadHRN("an empty name was given where an HRN (such as 'gam.lab.alice') or a "
                     "URN was expected")
    text = hrn.strip()
    parts, current, i = [], [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1:i + 2] == ".":
            current.append(".")
            i += 2
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    if any(not p for p in parts):
        raise BadHRN(f"HRN {hrn!r} has an empty part: write it as dot-separated names such "
                     "as 'gam.lab.alice'")
    return parts


def hrn_of(urn):
    """The HRN of a URN (``gam.lab.alice``; authorities: ``gam.lab``)."""
    return URN.parse(urn).hrn


def namespace_hrn(namespace):
    """The HRN of an authority namespace given in URN form (``gam:lab``)."""
    return ".".join(p.replace(".", "\\.") for p in namespace.split(":")) if namespace else ""


def record_key(urn):
    """The registry's key for a URN: authority folded to lower case."""
    urn = URN.parse(urn)
    if urn.type == "authority":
        return f"authority+{urn.authority.lower()}"
    return f"{urn.type}+{urn.authority.lower()}+{urn.name}"


def authority_urn(namespace):
    """The URN of the slice authority governing ``namespace`` (``gam:lab``)."""
    return URN(namespace, "authority", "sa")


def parent_namespace(urn):
    """The namespace a record lives in (lower case); '' for a root authority."""
    urn = URN.parse(urn)
    if urn.type == "authority":
        parts = urn.authority.lower().split(":")
        return ":".join(parts[:-1])
    return urn.authority.lower()


def _name_fits(rtype, name):
    if rtype == "user":
        return bool(USER_NAME_RE.match(name))
    if rtype == "slice":
        return bool(SLICE_NAME_RE.match(name))
    return bool(_NODE_NAME_RE.match(name))


def candidates(xrn, rtype=None):
    """The URNs an xrn (an HRN or a URN) may name, as a list.

    ``rtype`` (already normalised) narrows them. A URN stands for itself;
    an HRN for the authority of that name and the user, slice or node whose
    name is its last part. Raises BadArgs/BadHRN when none is possible.
    """
    if isinstance(xrn, URN) or (isinstance(xrn, str) and
                                xrn.strip().lower().startswith("urn:publicid:")):
        try:
            urn = URN.parse(xrn)
        except URNError as e:
            raise BadHRN(str(e)) from None
        if rtype and urn.type != rtype:
            raise BadArgs(f"{urn} is a {urn.type} URN, but the type argument says {rtype!r}")
        if urn.type not in RECORD_TYPES:
            raise BadArgs(f"{urn} is a {urn.type} URN; the registry holds only "
                          f"{', '.join(RECORD_TYPES)} records")
        return [urn]
    if not isinstance(xrn, str):
        raise BadHRN(f"a record name must be an HRN or URN string, not {type(xrn).__name__}")
    parts = split_hrn(xrn)
    found = []
    namespace_ok = all(_PART_RE.match(p) for p in parts)
    if namespace_ok and rtype in (None, "authority"):
        found.append(URN(":".join(parts), "authority", "sa"))
    if len(parts) >= 2 and all(_PART_RE.match(p) for p in parts[:-1]):
        namespace, name = ":".join(parts[:-1]), parts[-1]
        for leaf_type in ("user", "slice", "node"):
            if rtype in (None, leaf_type) and _name_fits(leaf_type, name):
                found.append(URN(namespace, leaf_type, name))
    if not found:
        what = f"a {rtype}" if rtype else "any record"
        raise BadHRN(
            f"{xrn!r} cannot name {what}: an HRN is an authority's dot-separated parts "
            "(letters, digits, '-' or '_') followed by the record's name; user names have "
            "1-8 letters, digits or '_', slice names 1-19 letters, digits or '-'")
    return found


def one_urn(xrn, rtype):
    """The single URN of ``xrn`` for a known type (used to create records)."""
    found = candidates(xrn, rtype)
    return found[0]


__all__ = ["RECORD_TYPES", "BadHRN", "normalise_type", "split_hrn", "hrn_of", "namespace_hrn",
           "record_key", "authority_urn", "parent_namespace", "candidates", "one_urn"]
