"""A throwaway PKI shared by every test suite, built once per test run.

``pki()`` returns the one cached :class:`PKI`:

- ``root``: the trusted root authority ``gam.test`` (``...+authority+sa``);
- ``sub``: its sub-authority ``gam.test:sub``;
- ``alice``, ``bob``: users of ``gam.test``; ``carol``: a user of
  ``gam.test:sub`` (her chain is leaf, sub-authority, root);
- ``am``: the aggregate's certificate ``urn:publicid:IDN+gam.test+authority+am``;
- ``foreign``: an untrusted root ``foreign.test`` and its user ``mallory``.

Credentials: ``slice_credential(owner, slice_name)`` and
``user_credential(owner)`` return signed XML; ``struct(xml)`` wraps one as
the ``{geni_type, geni_version, geni_value}`` struct clients send.
``write_files(directory)`` writes PEM files for servers and clients.
"""
import datetime
import os
from dataclasses import dataclass
from functools import lru_cache

from gam.auth import credential
from gam.auth.authorize import Authorizer
from gam.auth.gid import Authority, key_to_pem, utcnow
from gam.auth.privileges import SLICE_PRIVILEGES, USER_PRIVILEGES
from gam.auth.trust import TrustRoots
from gam.auth.urn import URN

ROOT_AUTHORITY = "gam.test"
AM_URN = "urn:publicid:IDN+gam.test+authority+am"
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True, eq=False)
class Identity:
    """A key and its certificate chain (leaf first, up to its root)."""

    key: object
    chain: tuple

    @property
    def gid(self):
        return self.chain[0]

    @property
    def urn(self):
        return self.gid.urn

    @property
    def peer_chain(self):
        """The chain as a TLS server sees it: cryptography certificates, leaf first."""
        return [g.cert for g in self.chain]

    @property
    def key_pem(self):
        return key_to_pem(self.key)

    @property
    def chain_pem(self):
        return "".join(g.pem for g in self.chain)

    def write(self, directory, basename):
        """Write ``<basename>.pem`` (the chain) and ``<basename>.key``; return both paths."""
        os.makedirs(directory, exist_ok=True)
        cert_path = os.path.join(directory, basename + ".pem")
        key_path = os.path.join(directory, basename + ".key")
        with open(cert_path, "w") as f:
            f.write(self.chain_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.key_pem)
        return cert_path, key_path


@dataclass(frozen=True)
class Files:
    """Paths written by :meth:`PKI.write_files`."""

    directory: str
    trust_roots_dir: str    # one PEM per trusted root (gam.test only)
    am_cert: str            # the AM's chain: AM certificate then root
    am_key: str
    users: dict             # name -> (chain path, key path), alice/bob/carol/mallory


class PKI:
    def __init__(self):
        self.root = Authority.create_root(ROOT_AUTHORITY)
        self.sub = self.root.create_sub_authority("sub")
        self.foreign = Authority.create_root("foreign.test")
        self.alice = self.user("alice")
        self.bob = self.user("bob")
        self.carol = self.user("carol", self.sub)
        self.mallory = self.user("mallory", self.foreign)
        key, gid = self.root.issue(AM_URN)
        self.am = Identity(key, (gid,) + self.root.chain)
        self._targets = {}

    def user(self, name, authority=None, email=None):
        """A new user of ``authority`` (default: the root) with a fresh key."""
        authority = authority or self.root
        key, gid = authority.issue(URN(authority.authority, "user", name),
                                   email=email or f"{name}@example.net")
        return Identity(key, (gid,) + authority.chain)

    def trust_roots(self):
        """Trust roots holding only ``gam.test``."""
        return TrustRoots([self.root.gid])

    def authorizer(self, clock=utcnow):
        return Authorizer(self.trust_roots(), clock=clock)

    def slice_urn(self, name="myslice", authority=None):
        authority = authority or self.root
        return URN(authority.authority, "slice", name)

    def _target_chain(self, urn, authority):
        key = (str(urn), authority.urn)
        if key not in self._targets:
            # A slice's certificate key is never used: reuse the authority's.
            _, gid = authority.issue(urn, public_key=authority.key.public_key())
            self._targets[key] = (gid,) + authority.chain
        return self._targets[key]

    def slice_credential(self, owner=None, slice_name="myslice", *, authority=None,
                         privileges=SLICE_PRIVILEGES, expires=None, lifetime=DAY):
        """A slice credential for ``owner`` (default alice) signed by the slice's authority."""
        owner = owner or self.alice
        authority = authority or self.root
        target = self._target_chain(self.slice_urn(slice_name, authority), authority)
        return credential.issue(
            signer_key=authority.key, signer_chain=authority.chain, owner_chain=owner.chain,
            target_chain=target, privileges=privileges,
            expires=expires or utcnow() + lifetime)

    def user_credential(self, owner=None, *, privileges=USER_PRIVILEGES, expires=None,
                        lifetime=DAY):
        """A user credential (target: the user) signed by the user's authority."""
        owner = owner or self.alice
        authority_chain = owner.chain[1:]
        authority = self._authority_of(authority_chain[0])
        return credential.issue(
            signer_key=authority.key, signer_chain=authority.chain, owner_chain=owner.chain,
            target_chain=owner.chain, privileges=privileges,
            expires=expires or utcnow() + lifetime)

    def _authority_of(self, gid):
        for authority in (self.root, self.sub, self.foreign):
            if authority.gid == gid:
                return authority
        raise ValueError(f"no authority of this PKI issued {gid}")

    def write_files(self, directory):
        """Write the trust roots, the AM's chain and key, and the users' files."""
        roots = os.path.join(directory, "trusted_roots")
        os.makedirs(roots, exist_ok=True)
        with open(os.path.join(roots, "gam.test.pem"), "w") as f:
            f.write(self.root.gid.pem)
        am_cert, am_key = self.am.write(directory, "am")
        users = {name: getattr(self, name).write(directory, name)
                 for name in ("alice", "bob", "carol", "mallory")}
        return Files(directory=directory, trust_roots_dir=roots, am_cert=am_cert,
                     am_key=am_key, users=users)


def struct(xml, geni_type="geni_sfa", geni_version="3"):
    """A credential as clients send it in the ``credentials`` list."""
    return {"geni_type": geni_type, "geni_version": geni_version, "geni_value": xml}


@lru_cache(maxsize=None)
def pki():
    """The shared PKI (keys are generated once per test process)."""
    return PKI()
