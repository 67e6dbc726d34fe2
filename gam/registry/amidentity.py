"""The AM's TLS identity, issued by the registry's root authority.

An AM that serves this registry's users holds a certificate the root issued
(CA:FALSE, the authority URN ``<root>+authority+<name>``) with its private
key, and has the root's certificate in its trust roots directory, so that
the AM and every client trusting the root agree on who is who. ``gam
authority am-cert`` writes these files for an AM run as a service; the
quickstart (gam.quickstart.identities) keeps its own up to date.

The certificate names the AM by its URN only, like every GENI certificate:
GENI clients check the AM's chain against their trust roots, not a host
name (see gam.ops.amclient), so none is put in.
"""
import datetime
import os
import re

from gam.auth.gid import GID, key_to_pem, load_key_pem, load_pem_chain
from gam.auth.urn import URN
from gam.errors import BadArgs
from gam.registry.authorities import public_key_der, write_private_file, write_public_file
from gam.registry.manager import SERVER_NAME

AM_CERT_LIFETIME = datetime.timedelta(days=365)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Names under the root that are not the AM's: the root itself and the
#: registry's own TLS identity.
_TAKEN_NAMES = {"sa": "the root authority's own URN",
                SERVER_NAME: "the registry's TLS identity"}


def am_urn(namespace, name="am"):
    """The URN ``<namespace>+authority+<name>`` an AM certificate carries;
    BadArgs when ``name`` cannot be used."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise BadArgs(f"{name!r} cannot name an AM: use 1-64 letters, digits, '-', '.' or '_', "
                      "starting with a letter or digit, such as 'am'")
    urn = URN(namespace, "authority", name)
    if name.lower() in _TAKEN_NAMES:
        raise BadArgs(f"{urn} is {_TAKEN_NAMES[name.lower()]}; give the AM another name "
                      "(the default is 'am')")
    return urn


def trust_root_path(directory, namespace):
    """Where the root of ``namespace`` goes in a trust roots directory."""
    return os.path.join(directory, namespace.lower().replace(":", "+") + ".pem")


def thd_read_am_identity(cert_path, key_path):
    """``(chain of GIDs, key)`` from the files, or None when missing, unreadable
    or when the key is not the certificate's."""
    try:
        with open(cert_path, "rb") as f:
            chain = tuple(GID(c) for c in load_pem_chain(f.read()))
        with open(key_path, "rb") as f:
            key = load_key_pem(f.read())
    except (OSError, ValueError, TypeError, BadArgs):
        return None
    if not chain or chain[0].public_key_der != public_key_der(key.public_key()):
        return None
    return chain, key


def thd_issue_am_identity(root, urn, cert_path, key_path, *, now,
                          lifetime=AM_CERT_LIFETIME):
    """Issue a new key and a certificate of ``urn`` from the authority ``root``;
    write the key (mode 0600; a new folder of it gets mode 0700) and the chain
    (certificate, then the root's). Returns the certificate (a GID)."""
    key, gid = root.issue(URN.parse(urn), lifetime=lifetime, now=now)
    os.makedirs(os.path.dirname(os.path.abspath(key_path)), mode=0o700, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(cert_path)), exist_ok=True)
    write_private_file(key_path, key_to_pem(key))
    write_public_file(cert_path, gid.pem + root.chain_pem())
    return gid


def root_certificate_pem(root):
    """The self-signed certificate at the top of ``root``'s chain (PEM)."""
    return root.chain[-1].pem


def write_trust_root(directory, root):
    """Put ``root``'s certificate in the trust roots ``directory``; its path."""
    os.makedirs(directory, exist_ok=True)
    path = trust_root_path(directory, root.authority)
    write_public_file(path, root_certificate_pem(root))
    return path


__all__ = ["AM_CERT_LIFETIME", "am_urn", "root_certificate_pem", "thd_issue_am_identity",
           "thd_read_am_identity", "trust_root_path", "write_trust_root"]
