"""GENI publicid URNs: parse, build, validate, compare.

A GENI URN is ``urn:publicid:IDN+<authority>+<type>+<name>``, the RFC 3151
transcription of the public identifier ``IDN <authority> <type> <name>``.
The authority may have sub-authorities separated by ``:`` (``geni:gpo:gcf``,
the transcription of ``geni//gpo//gcf``). Authorities compare
case-insensitively; names compare exactly.
"""
import re

from gam.errors import BadArgs

PREFIX = "urn:publicid:"
IDN = "IDN"

TYPES = frozenset({
    "authority", "user", "slice", "sliver", "node", "link", "interface",
    "vlan", "image", "project", "tool", "member",
})

SLICE_NAME_RE = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]{0,18}$")
USER_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,7}$")
# Authority components: host-name-like labels (dots, dashes, digits...)
# separated by ':'.
_AUTHORITY = r"[A-Za-z0-9][A-Za-z0-9._\-]*(?::[A-Za-z0-9][A-Za-z0-9._\-]*)*"
_AUTHORITY_RE = re.compile(f"^{_AUTHORITY}$")

# RFC 3151: characters that must be percent-escaped in a URN, in the
# order the transcription applies them.
_ESCAPES = (("%", "%25"), ("+", "%2B"), (":", "%3A"), ("/", "%2F"),
            (";", "%3B"), ("'", "%27"), ("?", "%3F"), ("#", "%23"))
_ESCAPE_OF = dict(_ESCAPES)
# A URN already in canonical form whose name needs no escaping: the common
# case (every URN in a credential or certificate), parsed by one match.
_CANONICAL_RE = re.compile(
    rf"urn:publicid:IDN\+({_AUTHORITY})\+([a-z]+)\+([^%+:/;'?#\s]+)", re.ASCII)
_CHAR_OF = {escape: char for char, escape in _ESCAPES}


class URNError(BadArgs):
    """A malformed URN; the message says which part is wrong."""

    default_reason = "bad-urn"


def publicid_to_urn(publicid):
    """Transcribe a public identifier into a URN (RFC 3151)."""
    text = " ".join(publicid.split())
    out = []
    i = 0
    while i < len(text):
        pair = text[i:i + 2]
        if pair == "//":
            out.append(":")
            i += 2
            continue
        if pair == "::":
            out.append(";")
            i += 2
            continue
        char = text[i]
        out.append("+" if char == " " else _ESCAPE_OF.get(char, char))
        i += 1
    return PREFIX + "".join(out)


def urn_to_publicid(urn):
    """Transcribe a URN back into its public identifier (RFC 3151)."""
    if not urn[:len(PREFIX)].lower() == PREFIX:
        raise URNError(f"{urn!r} is not a publicid URN: it must start with {PREFIX!r}")
    text = urn[len(PREFIX):]
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%" and text[i:i + 3].upper() in _CHAR_OF:
            out.append(_CHAR_OF[text[i:i + 3].upper()])
            i += 3
            continue
        out.append({"+": " ", ":": "//", ";": "::"}.get(char, char))
        i += 1
    return "".join(out)


def _unescape(text):
    for char, escape in reversed(_ESCAPES):
        text = text.replace(escape, char).replace(escape.lower(), char)
    return text


def _escape_name(text):
    for char, escape in _ESCAPES:
        text = text.replace(char, escape)
    return text.replace(" ", "+")


class URN:
    """An immutable, hashable GENI URN.

    ``authority`` is kept as written (``geni:gpo:gcf``); equality and hashing
    fold its case. ``name`` may be empty only for ``authority`` URNs of the
    form ``...+authority+sa``.
    """

    __slots__ = ("authority", "type", "name", "_key", "_text")

    def __init__(self, authority, type, name):
        if not authority:
            raise URNError("a URN needs an authority (the part after 'IDN+')")
        if not _AUTHORITY_RE.match(authority):
            raise URNError(
                f"authority {authority!r} is malformed: each ':'-separated part "
                "must be letters, digits, '.', '-' or '_'")
        type = type.lower()
        if type not in TYPES:
            raise URNError(
                f"URN type {type!r} is unknown; use one of {', '.join(sorted(TYPES))}")
        if not name:
            raise URNError(f"the {type} URN has an empty name")
        if type != "sliver" and (" " in name or "\t" in name or "\n" in name):
            raise URNError(f"the {type} name {name!r} contains white space")
        self._fill(authority, type, name,
                   f"{PREFIX}{IDN}+{authority}+{type}+{_escape_name(name)}")

    def _fill(self, authority, type, name, text):
        object.__setattr__(self, "authority", authority)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_key", (authority.lower(), type, name))
        object.__setattr__(self, "_text", text)

    def __setattr__(self, key, value):
        raise AttributeError("URN is immutable")

    @classmethod
    def _canonical(cls, text, authority, type, name):
        """A URN from the parts of ``text``, which _CANONICAL_RE matched."""
        urn = object.__new__(cls)
        urn._fill(authority, type, name, text)
        return urn

    @classmethod
    def parse(cls, text, *, expect_type=None):
        """Parse a URN string; ``expect_type`` checks its type too."""
        match = _CANONICAL_RE.fullmatch(text) if type(text) is str else None
        if match is not None and match[2] in TYPES:
            urn = cls._canonical(text, *match.groups())
        elif isinstance(text, URN):
            urn = text
        else:
            if not isinstance(text, str):
                raise URNError(f"a URN must be a string, not {type(text).__name__}")
            text = text.strip()
            if not text.lower().startswith(PREFIX + IDN.lower() + "+"):
                raise URNError(
                    f"{text!r} is not a GENI URN: it must start with 'urn:publicid:IDN+'")
            body = text[len(PREFIX) + len(IDN) + 1:]
            fields = body.split("+", 2)
            if len(fields) != 3:
                raise URNError(
                    f"{text!r} is not a GENI URN: expected "
                    "'urn:publicid:IDN+<authority>+<type>+<name>'")
            authority, type_, name = fields
            if "%" in name or "+" in name:
                name = _unescape(name.replace("+", " "))
            urn = cls(authority, type_, name)
        if expect_type and urn.type != expect_type:
            raise URNError(f"{urn} is a {urn.type} URN; a {expect_type} URN is needed here")
        return urn

    @classmethod
    def slice(cls, authority, name):
        validate_slice_name(name)
        return cls(authority, "slice", name)

    @classmethod
    def user(cls, authority, name):
        validate_user_name(name)
        return cls(authority, "user", name)

    @property
    def authority_parts(self):
        return tuple(self.authority.lower().split(":"))

    @property
    def authority_urn(self):
        """The slice authority URN of this URN's authority (``...+authority+sa``)."""
        return URN(self.authority, "authority", "sa")

    def is_authority(self):
        return self.type == "authority"

    def namespace(self):
        """The authority parts an authority URN governs (its own authority)."""
        return self.authority_parts

    def is_within(self, authority):
        """True when this URN is in ``authority``'s namespace.

        ``authority`` is an authority string or an authority URN; the rule is
        a case-insensitive prefix over ``:``-separated parts, so ``geni:gpo``
        covers ``geni:gpo:gcf`` but not ``geni:gpox``.
        """
        if isinstance(authority, URN):
            parts = authority.authority_parts
        else:
            parts = tuple(authority.lower().split(":"))
        return self.authority_parts[:len(parts)] == parts

    @property
    def hrn(self):
        """The SFA human-readable name (``geni.gpo.gcf.alice``)."""
        auth = ".".join(p.replace(".", "\\.") for p in self.authority.split(":"))
        if self.type == "authority":
            return auth
        return f"{auth}.{self.name}"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = URN.parse(other)
            except URNError:
                return False
        if not isinstance(other, URN):
            return NotImplemented
        return self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"URN({self._text!r})"


def validate_slice_name(name):
    if not isinstance(name, str) or not SLICE_NAME_RE.match(name):
        raise URNError(
            f"slice name {name!r} is invalid: use 1 to 19 letters, digits or '-', "
            "starting with a letter or digit")
    return name


def validate_user_name(name):
    if not isinstance(name, str) or not USER_NAME_RE.match(name):
        raise URNError(
            f"user name {name!r} is invalid: use 1 to 8 letters, digits or '_', "
            "starting with a letter")
    return name


def parse_urn(text, expect_type=None):
    return URN.parse(text, expect_type=expect_type)


def same_urn(a, b):
    """Compare two URNs (strings or URN objects); False if either is malformed."""
    try:
        return URN.parse(a) == URN.parse(b)
    except URNError:
        return False
