"""The quickstart's identities: the AM's certificate and a ready experimenter.

Everything is made once and reused on the next start as long as it is
still good:

- the AM's certificate is issued by the registry's root authority (so the
  AM, whose trust roots directory holds that root, and every client that
  trusts the root agree on who is who; gam.registry.amidentity, which
  ``gam authority am-cert`` uses too); it is issued again when it is
  missing, no longer chains to the root, or expires within 30 days;
- the experimenter is a registry user (a PI of the root authority, so that
  omni can register more slices) with a certificate, a private key the
  registry made, an ssh key pair, a slice (renewed when it expires within a
  day, registered again once it has expired) and user and slice credentials
  (issued again when they expire within a day or no longer match the
  certificate or the slice).

Key generation and signing run in threads; the registry's methods are the
operator's (no XML-RPC).
"""
import datetime
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from twisted.internet import threads

from gam.auth.credential import parse_credential
from gam.auth.gid import generate_key, key_to_pem, load_key_pem
from gam.auth.urn import URN
from gam.registry.amidentity import (
    thd_issue_am_identity, thd_read_am_identity, write_trust_root)
from gam.registry.authorities import (
    chain_from_pem, public_key_der, write_private_file, write_public_file)
from gam.registry.hrn import authority_urn
from gam.registry.manager import RecordSpec
from gam.registry.records import RecordNotFound

AM_CERT_MARGIN = datetime.timedelta(days=30)
RENEW_MARGIN = datetime.timedelta(days=1)


# ---------------------------------------------------------------- the AM

def thd_am_identity(root, am_urn, cert_path, key_path, now):
    """Make sure ``cert_path``/``key_path`` hold an AM certificate of ``am_urn``
    issued by the authority ``root``; return "reused" or "created"."""
    found = thd_read_am_identity(cert_path, key_path)
    if found is not None:
        chain, _ = found
        if (len(chain) > 1 and chain[1] == root.gid and str(chain[0].urn) == str(am_urn)
                and chain[0].not_after > now + AM_CERT_MARGIN):
            return "reused"
    thd_issue_am_identity(root, am_urn, cert_path, key_path, now=now)
    return "created"


async def ensure_am_identity(manager, layout, am_urn):
    """The AM's certificate and the trust roots directory; "created"/"reused"."""
    root = manager.root
    state = await threads.deferToThread(thd_am_identity, root, am_urn, layout.am_cert,
                                        layout.am_key, manager.now())
    write_trust_root(layout.trust_roots, root)
    return state


# ---------------------------------------------------------------- the experimenter

@dataclass
class Experimenter:
    """The experimenter's names and files (absolute paths)."""

    user_urn: str
    user_hrn: str
    cert: str
    key: str
    ssh_key: str
    ssh_public_key: str
    user_credential: str
    slice_urn: str
    slice_expires: datetime.datetime
    slice_credential: str
    notes: dict = field(default_factory=dict)   # what -> "created"/"reused"/"renewed"...


def thd_ssh_keypair():
    """A new RSA ssh key pair: (OpenSSH private key text, public key line)."""
    key = generate_key()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode("ascii")
    return private, public


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


class _Setup:
    """One run of :func:`ensure_experimenter` (holds the manager and names)."""

    def __init__(self, manager, layout, user, slice_name):
        self.manager = manager
        self.layout = layout
        namespace = manager.root.authority
        self.user_urn = URN(namespace, "user", user)
        self.slice_urn = URN(namespace, "slice", slice_name)
        path = layout.experimenter_file
        self.ex = Experimenter(
            user_urn=str(self.user_urn), user_hrn="", cert=path(f"{user}.pem"),
            key=path(f"{user}.key"), ssh_key=path(f"{user}_ssh"),
            ssh_public_key=path(f"{user}_ssh.pub"), user_credential=path(f"{user}-usercred.xml"),
            slice_urn=str(self.slice_urn), slice_expires=None,
            slice_credential=path(f"{slice_name}-slicecred.xml"))

    async def _get(self, urn):
        try:
            return await self.manager.get(urn)
        except RecordNotFound:
            return None

    async def ssh_key(self):
        private, public = _read_text(self.ex.ssh_key), _read_text(self.ex.ssh_public_key)
        if private and public and public.strip():
            self.ex.notes["ssh key"] = "reused"
            return public.strip()
        private, public = await threads.deferToThread(thd_ssh_keypair)
        public = f"{public} {self.user_urn.name}@{self.manager.root.authority}"
        write_private_file(self.ex.ssh_key, private)
        write_public_file(self.ex.ssh_public_key, public + "\n")
        self.ex.notes["ssh key"] = "created"
        return public

    async def user(self, ssh_public):
        record = await self._get(self.user_urn)
        if record is None:
            registered = await self.manager.register(RecordSpec(
                urn=self.user_urn, email=f"{self.user_urn.name}@localhost",
                ssh_keys=(ssh_public,)))
            record = registered.record
            write_private_file(self.ex.key, registered.private_key_pem)
            self.ex.notes["user"] = "created"
        else:
            self.ex.notes["user"] = "reused"
            if ssh_public not in record.ssh_keys:
                record = await self.manager.update(RecordSpec(urn=self.user_urn,
                                                              ssh_keys=(ssh_public,)))
            key_pem = _read_text(self.ex.key)
            cert = chain_from_pem(record.gid)[0]
            key = None
            if key_pem:
                try:
                    key = load_key_pem(key_pem)
                except (ValueError, TypeError):
                    key = None
            if key is None or public_key_der(key.public_key()) != cert.public_key_der:
                # The key was lost: certify a new one (the registry never keeps keys).
                key = await threads.deferToThread(generate_key)
                record = await self.manager.update(RecordSpec(urn=self.user_urn,
                                                              public_key=key.public_key()))
                write_private_file(self.ex.key, key_to_pem(key))
                self.ex.notes["user"] = "new key"
        await self.manager.add_member(authority_urn(self.manager.root.authority), "pi",
                                      self.user_urn)
        write_public_file(self.ex.cert, record.gid)
        self.ex.user_hrn = record.hrn
        return record

    async def slice(self):
        record = await self._get(self.slice_urn)
        now = self.manager.now()
        if record is None or record.expires <= now:
            self.ex.notes["slice"] = "created" if record is None else "registered again"
            registered = await self.manager.register(RecordSpec(
                urn=self.slice_urn, researchers=(self.user_urn,)))
            record = registered.record
        else:
            if self.user_urn not in record.researchers:
                record = await self.manager.update(RecordSpec(
                    urn=self.slice_urn, researchers=tuple(record.researchers) + (self.user_urn,)))
            self.ex.notes["slice"] = "reused"
            if record.expires <= now + RENEW_MARGIN:
                record = await self.manager.update(RecordSpec(
                    urn=self.slice_urn,
                    expires=now + self.manager.settings.slice_default_lifetime))
                self.ex.notes["slice"] = "renewed"
        self.ex.slice_expires = record.expires
        return record

    async def credential(self, path, owner, target, what):
        """Reuse the credential in ``path`` while it fits, else issue it again."""
        now = self.manager.now()
        user_cert = chain_from_pem(owner.gid)[0]
        target_cert = chain_from_pem(target.gid)[0]
        text = _read_text(path)
        if text:
            try:
                cred = parse_credential(text)
                top = cred.top
                if (top.owner_gid is not None and top.owner_gid == user_cert
                        and top.target_gid is not None and top.target_gid == target_cert
                        and cred.expires > now + RENEW_MARGIN
                        and (target.expires is None or cred.expires >= target.expires)):
                    self.ex.notes[what] = "reused"
                    return
                state = "renewed" if cred.expires <= now else "issued again"
            except Exception:
                state = "issued again"
        else:
            state = "created"
        xml = await self.manager.credential_for(self.user_urn, target.urn)
        write_public_file(path, xml)
        self.ex.notes[what] = state


async def ensure_experimenter(manager, layout, *, user="alice", slice_name="demo"):
    """Create or reuse the experimenter ``user`` and its slice; an Experimenter."""
    setup = _Setup(manager, layout, user, slice_name)
    ssh_public = await setup.ssh_key()
    user_record = await setup.user(ssh_public)
    slice_record = await setup.slice()
    await setup.credential(setup.ex.user_credential, user_record, user_record,
                           "user credential")
    await setup.credential(setup.ex.slice_credential, user_record, slice_record,
                           "slice credential")
    return setup.ex


__all__ = ["ensure_am_identity", "ensure_experimenter", "thd_am_identity", "Experimenter",
           "thd_ssh_keypair"]
