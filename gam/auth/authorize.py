"""The one entry point the RPC layer calls: who is calling, and may they?

``Authorizer.authorize(peer_chain, credentials, target_urn, method, options)``
returns an :class:`Authorization` (the verified caller and the credential
that granted the call) or raises :class:`gam.errors.Forbidden` (geni_code 3)
with a reason, or :class:`gam.errors.BadArgs` (1) for a malformed argument.
"""
from dataclasses import dataclass

from gam.auth import privileges as privtable
from gam.auth.credential import CredentialError
from gam.auth.gid import GID, utcnow
from gam.auth.speaksfor import speaking_for_urn, verify_speaks_for
from gam.auth.trust import ChainError
from gam.auth.urn import URN, URNError
from gam.auth.verify import CredentialVerifier
from gam.errors import BadArgs, Forbidden, GeniError

SFA_TYPES = {"geni_sfa"}
SFA_VERSIONS = {"2", "3"}
ABAC_TYPES = {"geni_abac"}
ABAC_VERSIONS = {"1"}

# How far a credential got before it failed: the furthest failure is the
# most useful one to report when several credentials were offered.
_STAGE = {"malformed": 0, "wrong-type": 0, "unsigned": 1, "bad-signature": 2, "untrusted": 2,
          "bad-certificate-signature": 2, "weak-certificate-signature": 2,
          "not-an-authority": 3, "namespace": 3, "not-yet-valid": 3, "expired": 4,
          "delegation-signer": 4, "delegation-privilege": 4, "delegation-expiry": 4,
          "delegation-target": 4, "wrong-owner": 5, "wrong-target": 6,
          "missing-privilege": 7}


@dataclass(frozen=True)
class Caller:
    """A verified identity: the TLS peer, or the user a tool speaks for."""

    gid: GID
    chain: tuple
    tool: "Caller | None" = None

    @property
    def urn(self):
        return self.gid.urn

    @property
    def uuid(self):
        return self.gid.uuid

    @property
    def email(self):
        return self.gid.email

    @property
    def public_key_der(self):
        return self.gid.public_key_der


@dataclass(frozen=True)
class Authorization:
    caller: Caller
    credential: object      # VerifiedCredential, or None where none was needed
    method: str

    @property
    def expires(self):
        """When the granting credential stops being valid (None if none)."""
        return self.credential.valid_until if self.credential is not None else None


@dataclass(frozen=True)
class OfferedCredential:
    type: str
    version: str
    value: bytes


def _value_bytes(value, index):
    data = getattr(value, "data", value)  # xmlrpc.client.Binary
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    raise BadArgs(f"credential {index}: geni_value must be a string or base64, not "
                  f"{type(data).__name__}")


def decode_credentials(credentials):
    """Normalise the ``credentials`` argument as clients send it.

    Accepts a list of ``{geni_type, geni_version, geni_value}`` structs
    (value as string or base64, version as string or int) and bare XML
    strings (taken as geni_sfa). Raises BadArgs for a malformed argument.
    """
    if credentials is None:
        return []
    if isinstance(credentials, (str, bytes, dict)) or not isinstance(credentials, (list, tuple)):
        raise BadArgs("credentials must be a list of credential structs "
                      "({geni_type, geni_version, geni_value}) or XML strings")
    offered = []
    for i, item in enumerate(credentials, 1):
        if isinstance(item, dict):
            missing = {"geni_type", "geni_value"} - set(item)
            if missing:
                raise BadArgs(f"credential {i} lacks {', '.join(sorted(missing))}")
            ctype = str(item["geni_type"]).strip().lower()
            version = str(item.get("geni_version", "")).strip()
            offered.append(OfferedCredential(ctype, version, _value_bytes(item["geni_value"], i)))
        else:
            value = _value_bytes(item, i)
            ctype = "geni_abac" if b"<type>abac</type>" in value else "geni_sfa"
            offered.append(OfferedCredential(ctype, "3" if ctype == "geni_sfa" else "1", value))
    return offered


class Authorizer:
    """Verifies callers and credentials against one set of trust roots.

    ``authorize`` is synchronous (a cold credential costs about a
    millisecond of CPU). Servers call :meth:`authorize_in_pool` instead,
    which runs it in the authorizer's own bounded thread pool once
    :meth:`start` has been called, so the reactor is never blocked.
    """

    def __init__(self, trust_roots, *, clock=utcnow, cache_size=10_000, pool_size=2):
        self.trust_roots = trust_roots
        self.clock = clock
        self.verifier = CredentialVerifier(trust_roots, clock=clock, cache_size=cache_size)
        self.pool_size = pool_size
        self._pool = None
        self._reactor = None

    def start(self, reactor):
        """Start the thread pool credentials are checked in (idempotent)."""
        if self._pool is None:
            from twisted.python.threadpool import ThreadPool
            self._reactor = reactor
            self._pool = ThreadPool(minthreads=0, maxthreads=self.pool_size, name="gam-auth")
            self._pool.start()

    def stop(self):
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()

    async def authorize_in_pool(self, *args, **kwargs):
        """:meth:`authorize` off the reactor thread (in the caller's thread
        until :meth:`start` has been called)."""
        if self._pool is None:
            return self.authorize(*args, **kwargs)
        from twisted.internet.threads import deferToThreadPool
        return await deferToThreadPool(self._reactor, self._pool, self.authorize,
                                       *args, **kwargs)

    def identify(self, peer_chain, now=None):
        """The caller of a TLS connection, from its presented chain."""
        gids = [c if isinstance(c, GID) else GID(c) for c in (peer_chain or ())]
        if not gids:
            raise Forbidden("no client certificate was presented; connect with your GENI "
                            "certificate", reason="no-certificate")
        try:
            chain = self.verifier.verify_chain(gids, now)
        except ChainError as e:
            raise Forbidden(f"your certificate is not accepted: {e.message}",
                            reason=e.reason) from None
        if chain.leaf.urn is None:
            raise Forbidden("your certificate has no GENI URN in its subjectAltName",
                            reason="malformed")
        return Caller(gid=chain.leaf, chain=chain.path)

    def authorize(self, peer_chain, credentials, target_urn, method, options=None):
        """Verify the caller and find a credential that allows ``method``.

        ``target_urn`` is the slice (or user/authority) the call acts on, or
        None for calls with no target (ListResources), where any valid
        credential of the caller with the privilege will do.
        """
        now = self.clock()
        if method not in privtable.METHOD_OPERATIONS:
            raise KeyError(f"no privilege rule for {method!r}")
        if target_urn is not None and not isinstance(target_urn, URN):
            try:
                target_urn = URN.parse(target_urn)
            except URNError as e:
                raise BadArgs(str(e)) from None
        offered = decode_credentials(credentials)
        caller = self.identify(peer_chain, now)
        options = options or {}
        if not isinstance(options, dict):
            raise BadArgs("options must be a struct")

        speaking_for = options.get("geni_speaking_for")
        if speaking_for:
            caller = self._speaks_for(caller, offered, speaking_for_urn(speaking_for), now)

        sfa = [c for c in offered if c.type in SFA_TYPES and c.version in SFA_VERSIONS]
        ignored = [c for c in offered if c not in sfa and not (
            c.type in ABAC_TYPES and c.version in ABAC_VERSIONS)]
        if not sfa:
            if ignored:
                kinds = ", ".join(sorted({f"{c.type} {c.version}" for c in ignored}))
                raise Forbidden(f"no usable credential: credentials of type {kinds} are not "
                                "supported; send a geni_sfa version 2 or 3 credential",
                                reason="unsupported-type")
            raise Forbidden(f"{method} needs a credential and none was given; pass your "
                            "slice credential (or user credential for ListResources)",
                            reason="no-credential")

        failures = []
        for index, offer in enumerate(sfa, 1):
            try:
                verified = self.verifier.verify(offer.value, now)
                self._check_use(verified, caller, target_urn, method)
            except GeniError as e:
                failures.append(e)
                continue
            return Authorization(caller=caller, credential=verified, method=method)

        best = max(failures, key=lambda e: _STAGE.get(e.reason, 0))
        if len(failures) == 1:
            message = best.message
        else:
            message = (f"none of the {len(failures)} credentials allows {method}; the closest: "
                       f"{best.message}")
        raise Forbidden(message, reason=best.reason)

    def _speaks_for(self, tool, offered, user_urn, now):
        abac = [c for c in offered if c.type in ABAC_TYPES and c.version in ABAC_VERSIONS]
        if not abac:
            raise Forbidden(f"geni_speaking_for names {user_urn} but no geni_abac speaks-for "
                            "credential was given", reason="speaks-for")
        failures = []
        for offer in abac:
            try:
                chain = verify_speaks_for(offer.value, tool_gid=tool.gid, user_urn=user_urn,
                                          verifier=self.verifier, now=now)
            except GeniError as e:
                failures.append(e)
                continue
            return Caller(gid=chain.leaf, chain=chain.path, tool=tool)
        first = failures[0]
        raise Forbidden(f"{tool.urn} may not speak for {user_urn}: {first.message}",
                        reason=first.reason)

    @staticmethod
    def _check_use(verified, caller, target_urn, method):
        top = verified.top
        if top.type != "privilege":
            raise CredentialError(f"a {top.type} credential cannot grant {method}",
                                  reason="wrong-type")
        if not top.owner_gid.same_key(caller.gid) or top.owner_urn != caller.urn:
            raise Forbidden(f"the credential belongs to {top.owner_urn}, not to the caller "
                            f"{caller.urn}", reason="wrong-owner")
        if target_urn is not None and top.target_urn != target_urn:
            raise Forbidden(f"the credential is for {top.target_urn}, not for {target_urn}",
                            reason="wrong-target")
        if not privtable.allows(top.privilege_names, method):
            held = ", ".join(sorted(top.privilege_names)) or "none"
            raise Forbidden(f"the credential's privileges ({held}) do not allow {method}",
                            reason="missing-privilege")
