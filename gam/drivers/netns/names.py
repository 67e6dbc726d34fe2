"""How the namespace driver names what it makes on the host.

Every host object is ``<prefix><kind><10 hex digits of SHA-256(URN...)>``:

=====  ==========================================  ===================
kind   object                                      hashed from
=====  ==========================================  ===================
``n``  network namespace (and the node's folder)   the node sliver URN
``v``  host end of a node interface's veth pair    node URN + interface
``b``  a link's bridge                             the link sliver URN
``u``  a link's 802.1q device on the uplink        the link sliver URN
``p``  throwaway objects of a capability probe     random
=====  ==========================================  ===================

The prefix (1 to 4 lowercase letters/digits, default ``gam``) keeps the
names within Linux's 15 characters and lets two installations (or a
test run) share a host: :meth:`Names.parse` only accepts names of its own
prefix with exactly 10 hex digits, so ``clean_restart`` never touches
anything else.
"""
import hashlib
import re

KINDS = "nvbup"
_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,3}$")
_HEX = re.compile(r"^[0-9a-f]{10}$")


def digest(*parts):
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:10]


class Names:
    def __init__(self, prefix="gam"):
        if not _PREFIX.match(prefix or ""):
            raise ValueError(f"prefix {prefix!r} must be 1-4 lowercase letters or digits, "
                             "starting with a letter")
        self.prefix = prefix

    def netns(self, node_urn):
        return f"{self.prefix}n{digest(node_urn)}"

    def veth(self, node_urn, interface_client_id):
        return f"{self.prefix}v{digest(node_urn, interface_client_id)}"

    def bridge(self, link_urn):
        return f"{self.prefix}b{digest(link_urn)}"

    def uplink(self, link_urn):
        return f"{self.prefix}u{digest(link_urn)}"

    def probe(self, token):
        return f"{self.prefix}p{digest(token)}"

    def parse(self, name):
        """``(kind, hex)`` if ``name`` is one of ours, else None."""
        if not name.startswith(self.prefix) or len(name) != len(self.prefix) + 11:
            return None
        kind, rest = name[len(self.prefix)], name[len(self.prefix) + 1:]
        if kind not in KINDS or not _HEX.match(rest):
            return None
        return kind, rest

    def ours(self, names, kind):
        """The names in ``names`` that are ours and of ``kind``."""
        return [n for n in names if (self.parse(n) or ("",))[0] == kind]


def hostname_for(client_id):
    """An RFC 1123 host label from a client_id (``Node 1.a`` -> ``node-1-a``)."""
    label = re.sub(r"[^a-z0-9-]+", "-", client_id.lower()).strip("-")
    return label[:63].rstrip("-") or "node"
