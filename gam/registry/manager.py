"""The registry's behaviour, free of the wire: records, certificates, credentials.

:class:`RegistryManager` owns the database connector, the authorities' keys
and a small thread pool for cryptography (key generation, certificate and
credential signing). Its ``async`` methods take already-authorized intents:
the XML-RPC layer (gam.registry.api) decides who may call them, the command
line (gam.registry.commands) calls them as the operator.

Lifetimes: a slice lives until its ``expires`` (bounded by
``slice_max_lifetime`` from now); its credentials expire with it. User and
authority credentials last ``*_credential_lifetime``, never beyond the
certificates involved.
"""
import datetime
import uuid as uuidlib
from dataclasses import dataclass, replace

from twisted.internet import defer, threads
from twisted.python import threadpool

from gam.auth import credential as credmod
from gam.auth.authorize import Authorizer
from gam.auth.gid import Authority, generate_key, key_to_pem
from gam.auth.trust import TrustRoots
from gam.auth.urn import URN, validate_slice_name, validate_user_name
from gam.db.connector import DBConnector
from gam.errors import BadArgs, ConfigError, Expired, Forbidden, OutOfRange, Refused
from gam.registry import records as rec
from gam.registry import rights
from gam.registry.authorities import AuthorityCache, KeyStore, chain_from_pem, public_key_der
from gam.registry.config import validate_namespace
from gam.registry.hrn import authority_urn

UTC = datetime.timezone.utc
SERVER_NAME = "registry"


@dataclass(frozen=True)
class RecordSpec:
    """What a Register or Update asks for; None means "not given"."""

    urn: URN
    email: str | None = None
    ssh_keys: tuple | None = None
    public_key: object | None = None     # a cryptography public key
    researchers: tuple | None = None     # user URNs (slices)
    pis: tuple | None = None             # user URNs (authorities)
    expires: datetime.datetime | None = None

    @property
    def type(self):
        return self.urn.type


@dataclass(frozen=True)
class Registered:
    record: rec.Record
    private_key_pem: str | None = None   # set only when the registry made the key


def _validate_name(urn):
    if urn.type == "user":
        validate_user_name(urn.name)
    elif urn.type == "slice":
        validate_slice_name(urn.name)
    elif urn.type == "authority":
        try:
            validate_namespace(urn.authority, "authority name")
        except ValueError as e:
            raise BadArgs(str(e)) from None
    if urn.type != "authority":
        try:
            validate_namespace(urn.authority, "authority name")
        except ValueError as e:
            raise BadArgs(str(e)) from None


class RegistryManager:
    """The registry: start it, call its methods, stop it."""

    def __init__(self, settings, *, reactor=None, clock=None, key_factory=generate_key,
                 db=None):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings
        self._reactor = reactor
        self._clock = clock or reactor
        self._key_factory = key_factory
        self.db = db or DBConnector(settings.database_url, reactor,
                                    pool_size=settings.db_pool_size)
        self.keystore = KeyStore(settings.state_dir)
        self.authorities = AuthorityCache(self.keystore)
        self._pool = None
        self.root = None
        self.server_key = None
        self.server_chain = None
        self.trust_roots = None
        self.authorizer = None

    # ------------------------------------------------------------ lifecycle

    def now(self):
        return datetime.datetime.fromtimestamp(self._clock.seconds(), UTC).replace(microsecond=0)

    async def start(self):
        """Prepare the state dir, migrate the DB, load or create the root authority."""
        self.keystore.prepare()
        await self.db.start()
        self._pool = threadpool.ThreadPool(minthreads=0,
                                           maxthreads=self.settings.crypto_threads,
                                           name="gam-registry-crypto")
        self._pool.start()
        try:
            await self._bootstrap()
        except BaseException:
            await self.stop()
            raise

    async def stop(self):
        pool, self._pool = self._pool, None
        stops = [pool.stop] if pool is not None else []
        if self.authorizer is not None:
            stops.append(self.authorizer.stop)
        for stop in stops:       # joining threads blocks: not on the reactor
            await threads.deferToThreadPool(self._reactor, self._reactor.getThreadPool(), stop)
        await self.db.stop()

    def _crypto(self, fn, *args, **kwargs):
        if self._pool is None:
            return defer.fail(RuntimeError("the registry is not started"))
        return threads.deferToThreadPool(self._reactor, self._pool, fn, *args, **kwargs)

    async def _bootstrap(self):
        namespace = self.settings.authority
        urn = authority_urn(namespace)
        record = await self.db.read(rec.thd_get, urn)
        others = [r for r in await self.db.read(rec.thd_children, "")
                  if r.namespace != namespace.lower()]
        if others:
            raise ConfigError(
                f"the database belongs to the root authority {others[0].hrn}, not to "
                f"{namespace}; set registry.authority back or use another database",
                key="registry.authority")
        if record is None:
            self.root = await self._crypto(self._thd_make_root, namespace)
            self.keystore.write_key(namespace, self.root.key)
            await self.db.run(rec.thd_insert, urn=urn, gid=self.root.chain_pem(),
                              uuid=self.root.gid.uuid, now=self.now())
        else:
            self.root = await self._crypto(self.authorities.load, record)
        self.keystore.write_root_pem(namespace, self.root.chain_pem())
        self.trust_roots = self._load_trust_roots()
        self.authorizer = Authorizer(self.trust_roots, clock=self.now)
        self.authorizer.start(self._reactor)     # credentials are checked off the reactor
        await self._server_identity()

    def _thd_make_root(self, namespace):
        key = (self.keystore.load_key(namespace) if self.keystore.has_key(namespace)
               else self._key_factory())
        return Authority.create_root(namespace, key=key,
                                     lifetime=self.settings.authority_certificate_lifetime,
                                     now=self.now())

    def _load_trust_roots(self):
        roots = TrustRoots([self.root.chain[-1]])
        if self.settings.trust_roots_dir:
            for gid in TrustRoots.from_directory(self.settings.trust_roots_dir):
                roots.add(gid)
        return roots

    async def _server_identity(self):
        found = self.keystore.load_server_identity()
        now = self.now()
        if found is not None:
            key, chain = found
            if (len(chain) > 1 and chain[1] == self.root.gid
                    and chain[0].not_after > now + datetime.timedelta(days=1)):
                self.server_key, self.server_chain = key, chain
                return
        urn = URN(self.root.authority, "authority", SERVER_NAME)
        key = await self._crypto(self._key_factory)
        _, gid = await self._crypto(self.root.issue, urn, public_key=key.public_key(),
                                    lifetime=self.settings.user_certificate_lifetime, now=now)
        self.server_key, self.server_chain = key, (gid,) + self.root.chain
        self.keystore.write_server_identity(key, self.server_chain)

    # ------------------------------------------------------------ lookups

    def get(self, urn):
        """Deferred: the live record of ``urn`` (RecordNotFound otherwise)."""
        return self.db.read(rec.thd_require, URN.parse(urn))

    def find(self, urns):
        """Deferred: the live records among ``urns``."""
        return self.db.read(rec.thd_find, [URN.parse(u) for u in urns])

    async def list(self, namespace, *, recursive=False):
        namespace = namespace.lower()
        await self.get(authority_urn(namespace))
        return await self.db.read(rec.thd_children, namespace, recursive=recursive)

    async def authority_of(self, namespace):
        """The Authority (key and chain) governing ``namespace``."""
        record = await self.get(authority_urn(namespace))
        return (self.authorities.cached(record)
                or await self._crypto(self.authorities.load, record))

    # ------------------------------------------------------------ register

    async def register(self, spec):
        """Create a record; return :class:`Registered`."""
        _validate_name(spec.urn)
        if spec.type == "authority":
            return await self._register_authority(spec)
        parent = await self.authority_of(spec.urn.authority)
        # Records carry their authority as the authority itself spells it.
        spec = replace(spec, urn=URN(parent.authority, spec.urn.type, spec.urn.name))
        now = self.now()
        if spec.type == "slice":
            return Registered(await self._register_slice(spec, parent, now))
        key_pem = None
        public_key = spec.public_key
        if public_key is None:
            key = await self._crypto(self._key_factory)
            public_key, key_pem = key.public_key(), key_to_pem(key)
        lifetime = self.settings.user_certificate_lifetime
        record_uuid = str(uuidlib.uuid4())
        _, gid = await self._crypto(parent.issue, spec.urn, public_key=public_key,
                                    email=spec.email, uuid=record_uuid, lifetime=lifetime, now=now)
        record = await self.db.run(self._thd_insert_leaf, spec, parent.chain, gid, record_uuid,
                                   now)
        return Registered(record, key_pem)

    @staticmethod
    def _thd_insert_leaf(conn, spec, parent_chain, gid, record_uuid, now):
        rec.thd_require(conn, authority_urn(spec.urn.authority), lock=True)
        return rec.thd_insert(conn, urn=spec.urn, gid="".join(g.pem for g in (gid,) + parent_chain),
                              uuid=record_uuid, now=now, email=spec.email,
                              ssh_keys=spec.ssh_keys or ())

    def _slice_expiry(self, requested, now):
        limit = now + self.settings.slice_max_lifetime
        if requested is None:
            return now + self.settings.slice_default_lifetime
        if requested <= now:
            raise BadArgs(f"the requested slice expiration {requested:%Y-%m-%dT%H:%M:%SZ} is not "
                          "in the future; ask for a later time")
        if requested > limit:
            raise OutOfRange(
                f"the requested slice expiration {requested:%Y-%m-%dT%H:%M:%SZ} is too far away: "
                f"slices here may be extended at most {self.settings.slice_max_lifetime.days} "
                f"days ahead, until {limit:%Y-%m-%dT%H:%M:%SZ}; ask for that or earlier and "
                "renew again later")
        return requested

    async def _slice_gid(self, parent, urn, record_uuid, expires, now):
        key = await self._crypto(self._key_factory)
        lifetime = max(self.settings.slice_max_lifetime, expires - now) + datetime.timedelta(
            days=1)
        _, gid = await self._crypto(parent.issue, urn, public_key=key.public_key(),
                                    uuid=record_uuid, lifetime=lifetime, now=now)
        return "".join(g.pem for g in (gid,) + parent.chain)

    async def _register_slice(self, spec, parent, now):
        expires = self._slice_expiry(spec.expires, now)
        record_uuid = str(uuidlib.uuid4())
        gid_pem = await self._slice_gid(parent, spec.urn, record_uuid, expires, now)

        def thd(conn):
            rec.thd_require(conn, authority_urn(spec.urn.authority), lock=True)
            users = _thd_users(conn, spec.researchers or ())
            record = rec.thd_insert(conn, urn=spec.urn, gid=gid_pem, uuid=record_uuid, now=now,
                                    expires=expires)
            rec.thd_set_members(conn, record, "researcher", users)
            return rec.thd_reload(conn, record)
        return await self.db.run(thd)

    async def _register_authority(self, spec):
        namespace = spec.urn.authority
        parts = namespace.split(":")
        if len(parts) < 2:
            raise Refused(f"{spec.urn.hrn} would be a root authority; this registry has one root "
                          f"({self.root.urn.hrn}): register sub-authorities under it")
        parent = await self.authority_of(":".join(parts[:-1]))
        namespace = f"{parent.authority}:{parts[-1]}"
        spec = replace(spec, urn=URN(namespace, "authority", "sa"))
        if await self.db.read(rec.thd_get, spec.urn) is not None:
            raise rec.ExistingRecord(f"{spec.urn.hrn} (authority)",
                                     "the name is taken; pick another name")
        now = self.now()
        key = await self._crypto(self._key_factory)
        authority = await self._crypto(
            parent.create_sub_authority, parts[-1], key=key,
            lifetime=self.settings.authority_certificate_lifetime, now=now)

        def thd(conn):
            rec.thd_require(conn, authority_urn(parent.authority), lock=True)
            users = _thd_users(conn, spec.pis or ())
            record = rec.thd_insert(conn, urn=authority.urn, gid=authority.chain_pem(),
                                    uuid=authority.gid.uuid, now=now)
            rec.thd_set_members(conn, record, "pi", users)
            # The key is written inside the transaction: a failed write rolls
            # the record back, and no other registration can hold this name.
            self.keystore.write_key(namespace, key)
            return rec.thd_reload(conn, record)
        record = await self.db.run(thd)
        return Registered(record)

    # ------------------------------------------------------------ update

    async def update(self, spec):
        """Apply the given fields of ``spec`` to its record; return the record."""
        record = await self.get(spec.urn)
        now = self.now()
        changes = {}
        if spec.email is not None and record.type == "user":
            changes["email"] = spec.email
        if spec.ssh_keys is not None and record.type == "user":
            changes["ssh_keys"] = tuple(spec.ssh_keys)
        parent = None
        if record.type != "authority":
            parent = await self.authority_of(record.parent)
        if spec.expires is not None and record.type == "slice":
            if record.expires <= now:
                raise Expired(f"slice {record.hrn} expired at {record.expires:%Y-%m-%dT%H:%M:%SZ} "
                              "and cannot be renewed; register it again")
            changes["expires"] = self._slice_expiry(spec.expires, now)
            slice_gid = chain_from_pem(record.gid)[0]
            if slice_gid.not_after < changes["expires"] + datetime.timedelta(hours=1):
                changes["gid"] = await self._slice_gid(parent, record.urn, record.uuid,
                                                       changes["expires"], now)
        if spec.public_key is not None and record.type in ("user", "node"):
            current = chain_from_pem(record.gid)[0]
            if public_key_der(spec.public_key) != current.public_key_der:
                _, gid = await self._crypto(
                    parent.issue, record.urn, public_key=spec.public_key,
                    email=changes.get("email", record.email), uuid=record.uuid,
                    lifetime=self.settings.user_certificate_lifetime, now=now)
                changes["gid"] = "".join(g.pem for g in (gid,) + parent.chain)
        role = {"slice": ("researcher", spec.researchers),
                "authority": ("pi", spec.pis)}.get(record.type)

        def thd(conn):
            current = rec.thd_require(conn, record.urn, lock=True)
            if changes:
                current = rec.thd_update(conn, current, now, **changes)
            if role is not None and role[1] is not None:
                rec.thd_set_members(conn, current, role[0], _thd_users(conn, role[1]))
            return rec.thd_reload(conn, current)
        return await self.db.run(thd)

    async def add_member(self, urn, role, user_urn):
        """Give ``user_urn`` the role ``researcher``/``pi`` in record ``urn``."""
        def thd(conn):
            record = rec.thd_require(conn, urn, lock=True)
            expected = {"researcher": "slice", "pi": "authority"}[role]
            if record.type != expected:
                raise BadArgs(f"{record.hrn} is a {record.type}; a {role} belongs to a {expected}")
            rec.thd_add_member(conn, record, role, _thd_users(conn, [user_urn])[0])
            return rec.thd_reload(conn, record)
        return await self.db.run(thd)

    # ------------------------------------------------------------ remove

    async def remove(self, urn):
        """Remove a record: it stops getting credentials; issued ones stay valid."""
        urn = URN.parse(urn)
        now = self.now()
        if urn.type == "authority" and urn.authority.lower() == self.root.authority.lower():
            raise Refused(f"{urn.hrn} is this registry's root authority and cannot be removed")

        def thd(conn):
            record = rec.thd_require(conn, urn, lock=True)
            if record.type == "authority":
                children = rec.thd_children(conn, record.namespace)
                if children:
                    names = ", ".join(c.hrn for c in children[:5])
                    raise Refused(f"authority {record.hrn} still holds {len(children)} "
                                  f"record(s) ({names}); remove them first")
            if record.type == "slice":
                reserved = max(record.expires, now)
            else:
                reserved = max(chain_from_pem(record.gid)[0].not_after, now)
            rec.thd_remove(conn, record, now, reserved)
            return record
        record = await self.db.run(thd)
        if record.type == "authority":
            self.authorities.forget(record.namespace)
        return record

    # ------------------------------------------------------------ credentials

    async def credential_for(self, caller_urn, target_urn, *, caller_key_der=None):
        """A signed credential for ``caller_urn`` on ``target_urn``, with the
        privileges the caller's roles give (Forbidden when none).

        ``caller_key_der``: the public key the caller proved (TLS); it must be
        the key of the caller's registered certificate.
        """
        caller_urn, target_urn = URN.parse(caller_urn), URN.parse(target_urn)

        def thd(conn):
            caller = rec.thd_get(conn, caller_urn)
            target = rec.thd_require(conn, target_urn)
            parent = rec.thd_get(conn, authority_urn(target.parent)) if target.parent else None
            return caller, target, parent
        caller, target, parent = await self.db.read(thd)
        if caller is None or caller.type != "user":
            raise Forbidden(f"{caller_urn} is not a user registered at this registry, so it "
                            "holds no role here; ask a PI to register you")
        caller_gid = chain_from_pem(caller.gid)[0]
        if caller_key_der is not None and caller_key_der != caller_gid.public_key_der:
            raise Forbidden(f"the certificate you connected with is not the one this registry "
                            f"issued to {caller_urn}; connect with your current certificate")
        privileges = rights.privileges_for(caller.urn, target, parent.pis if parent else ())
        if not privileges:
            raise Forbidden(f"{rights.why_not(caller.urn, target)}", reason="no-rights")
        return await self._issue(caller, target, privileges)

    async def self_credential(self, urn, caller_key_der):
        """GetSelfCredential: the user credential of ``urn`` for its key holder."""
        record = await self.get(urn)
        if record.type != "user":
            raise BadArgs(f"GetSelfCredential issues user credentials only; {record.hrn} is a "
                          f"{record.type}: get its credential with GetCredential and your user "
                          "credential")
        if chain_from_pem(record.gid)[0].public_key_der != caller_key_der:
            raise Forbidden(f"Connection Key GID mismatch: the key of your TLS certificate is "
                            f"not the key of {record.hrn}'s certificate; connect with that "
                            "user's certificate and key", reason="key-mismatch")
        return await self._issue(record, record, rights.USER_PRIVILEGES)

    async def _issue(self, owner, target, privileges):
        now = self.now()
        if target.type == "slice":
            if target.expires <= now:
                raise Expired(f"slice {target.hrn} expired at "
                              f"{target.expires:%Y-%m-%dT%H:%M:%SZ}; register it again")
            expires = target.expires
        elif target.type == "user":
            expires = now + self.settings.user_credential_lifetime
        else:
            expires = now + self.settings.authority_credential_lifetime
        signer_ns = target.namespace if target.type == "authority" else target.parent
        signer = await self.authority_of(signer_ns)
        owner_chain = chain_from_pem(owner.gid)
        target_chain = chain_from_pem(target.gid)
        expires = min([expires] + [g.not_after for g in owner_chain + signer.chain])
        if expires <= now:
            raise Expired(f"the certificate of {owner.hrn} or of its authority has expired; "
                          "ask a PI to issue a new one")
        privileges = [credmod.Privilege(p, True) for p in privileges]
        return await self._crypto(
            credmod.issue, signer_key=signer.key, signer_chain=signer.chain,
            owner_chain=owner_chain, target_chain=target_chain, privileges=privileges,
            expires=expires)


def _thd_users(conn, urns):
    """The live user records of ``urns``; BadArgs naming the first unknown one."""
    users = []
    for urn in urns:
        urn = URN.parse(urn)
        found = rec.thd_get(conn, urn) if urn.type == "user" else None
        if found is None:
            raise BadArgs(f"{urn.hrn} is not a registered user; register the user first, then "
                          "name them here", reason="unknown-user")
        users.append(found)
    return users


def gid_of(record):
    """The record's own certificate (a GID)."""
    return chain_from_pem(record.gid)[0]


__all__ = ["RegistryManager", "RecordSpec", "Registered", "gid_of"]
