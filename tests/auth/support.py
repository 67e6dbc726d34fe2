"""A throwaway federation for the auth tests, built once per test run.

``gam.test`` is the trusted root with the sub-authority ``gam.test:sub``;
``other.test`` is a second trusted root; ``evil.test`` is a root nobody
trusts, and ``impostor`` is a self-signed authority using the trusted
root's own name with another key.
"""
import datetime
from functools import lru_cache

from lxml import etree

from gam.auth import credential as cred
from gam.auth.authorize import Authorizer
from gam.auth.gid import GID, Authority, build_certificate, generate_key, utcnow
from gam.auth.privileges import SLICE_PRIVILEGES, USER_PRIVILEGES
from gam.auth.trust import TrustRoots
from gam.auth.urn import URN
from tests.pki import Identity

DAY = datetime.timedelta(days=1)


class PKI:
    def __init__(self):
        self.root = Authority.create_root("gam.test")
        self.sub = self.root.create_sub_authority("sub")
        self.other = Authority.create_root("other.test")
        self.evil = Authority.create_root("evil.test")
        impostor_key = generate_key()
        self.impostor = Authority(impostor_key, [GID(build_certificate(
            subject_urn=self.root.urn, public_key=impostor_key.public_key(),
            issuer_key=impostor_key, ca=True))])
        self.alice = self.person(self.root, "alice")
        self.bob = self.person(self.root, "bob")
        self.carol = self.person(self.sub, "carol")
        self.tool = self.person(self.root, "tool")
        self.mallory = self.person(self.evil, "mallory")
        self.slice_urn = URN("gam.test", "slice", "myslice")
        self.other_slice_urn = URN("gam.test", "slice", "another")
        self.sub_slice_urn = URN("gam.test:sub", "slice", "subslice")
        self.slice = self.target(self.root, self.slice_urn)
        self.other_slice = self.target(self.root, self.other_slice_urn)
        self.sub_slice = self.target(self.sub, self.sub_slice_urn)

    @staticmethod
    def person(authority, name):
        key, gid = authority.issue(URN(authority.authority, "user", name),
                                   email=f"{name}@example.net")
        return Identity(key, (gid,) + authority.chain)

    @staticmethod
    def target(authority, urn):
        _, gid = authority.issue(urn)
        return (gid,) + authority.chain

    def trust_roots(self):
        return TrustRoots([self.root.gid, self.other.gid])

    def authorizer(self, clock=utcnow):
        return Authorizer(self.trust_roots(), clock=clock)

    def slice_credential(self, owner=None, *, target=None, signer=None, expires=None,
                         privileges=SLICE_PRIVILEGES, algorithm="sha1"):
        """A root-level slice credential (by default: alice's on myslice)."""
        owner = owner or self.alice
        signer = signer or self.root
        return cred.issue(signer_key=signer.key, signer_chain=signer.chain,
                          owner_chain=owner.chain, target_chain=target or self.slice,
                          privileges=[cred.Privilege(p, True) if isinstance(p, str) else p
                                      for p in privileges],
                          expires=expires or utcnow() + DAY, algorithm=algorithm)

    def user_credential(self, person):
        return cred.issue(signer_key=self.root.key, signer_chain=self.root.chain,
                          owner_chain=person.chain, target_chain=person.chain,
                          privileges=[cred.Privilege(p, False) for p in USER_PRIVILEGES],
                          expires=utcnow() + DAY)


@lru_cache(maxsize=1)
def pki():
    return PKI()


def sfa(xml, version=3):
    return {"geni_type": "geni_sfa", "geni_version": version, "geni_value": xml}


def edit(xml, change):
    """Parse ``xml``, let ``change(root)`` alter it, serialise it again."""
    root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
