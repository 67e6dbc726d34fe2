"""The SFA registry methods on the wire, as omni's sfa framework and sfi call them.

Argument forms (``xrn``: an HRN such as ``gam.lab.alice`` or a URN;
``creds``: one credential XML string, or a list of XML strings and/or
``{geni_type, geni_version, geni_value}`` structs; ``type``: ``user``,
``slice``, ``authority`` (also ``authority+sa``, ``sa``), ``node``, or
empty to infer it)::

    GetVersion([options])                 -> {interface, sfa, hrn, urn, peers, ...}
    GetSelfCredential(cert, xrn[, type])  -> user credential XML (no creds needed:
                                             the TLS key must be the record's)
    GetCredential(creds, xrn[, type])     -> credential XML for the caller on xrn
    Resolve(xrn | [xrn], creds[, options])-> [record]   (Fault "Record not found" if none)
    List(xrn, creds[, options])           -> [record] directly under authority xrn
                                             (recursive: options {'recursive': True}
                                             or an HRN ending in '*')
    Register(record, creds)               -> certificate chain PEM of the new record
                                             (users/nodes without a key: the new
                                             private key PEM, then the chain)
    Update(record, creds)                 -> 1
    Remove(xrn, creds[, type])            -> 1

Records are described in gam.registry.sfarecord. Errors are Faults whose
code is the GENI code (1 bad arguments, 3 forbidden, 12 not found, 15
expired, 17 exists, 19 out of range...) and whose text says what to do.

Who may do what: Resolve, List and GetCredential need any valid credential
of the caller that allows them (a user credential does). Register and
Remove need an authority credential (privilege ``authority``/``pi``) for
an authority governing the record's parent namespace, issued by this
registry. Update accepts that too, or the record's own credential: a slice
credential may change the slice's ``expires`` (renewal), a user credential
the user's ``email``, ``keys`` and ``public_key``.
"""
import importlib.metadata
import xmlrpc.client

from gam.auth.gid import GID
from gam.errors import BadArgs, Forbidden, GeniError
from gam.registry import hrn as hrnmod
from gam.registry.records import RecordNotFound
from gam.registry.sfarecord import record_to_sfa, sfa_to_spec, ssh_rsa_key

SFA_VERSION = 3


def _gam_version():
    try:
        return importlib.metadata.version("gam")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def normalise_credentials(value):
    """The ``creds`` argument as the list :func:`gam.auth.decode_credentials` takes."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes, dict, xmlrpc.client.Binary)):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise BadArgs(f"credentials must be a credential string or a list of them, not "
                  f"{type(value).__name__}")


def _options(value):
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise BadArgs(f"options must be a struct, not {type(value).__name__}")
    return value


def _covers(namespace, governed):
    return namespace == governed or namespace.startswith(governed + ":")


class RegistryAPI:
    """The SFA registry methods, for :class:`gam.rpc.xmlrpc.XMLRPCResource` with a :class:`gam.rpc.envelope.FaultEnvelope`."""

    def __init__(self, manager):
        self.manager = manager
        self._procedures = {name: getattr(self, name) for name in (
            "GetVersion", "GetSelfCredential", "GetCredential", "Resolve", "List", "Register",
            "Update", "Remove")}

    def procedures(self):
        return self._procedures

    @property
    def authorizer(self):
        return self.manager.authorizer

    # ------------------------------------------------------------ helpers

    _HINTS = {
        "Register": "Register needs an authority credential: as a PI, call GetCredential with "
                    "your user credential, the authority's HRN and type 'authority'",
        "Remove": "Remove needs an authority credential of the record's authority (or one "
                  "above it)",
    }

    async def _authorize(self, call, creds, method, scope=None):
        """Find one credential of the caller allowing ``method`` and passing ``scope``.

        ``scope(verified_credential)`` raises Forbidden when the credential
        does not reach the record. Each credential is tried on its own, so a
        user credential cannot shadow the authority credential beside it.
        The checks run in the authorizer's thread pool, off the reactor.
        """
        offered = normalise_credentials(creds)
        if not offered:
            offered = [None]
        failures = []
        for item in offered:
            try:
                auth = await self.authorizer.authorize_in_pool(
                    call.peer_chain, [] if item is None else [item], None, method)
                if scope is not None:
                    scope(auth.credential)
            except BadArgs:
                raise
            except GeniError as e:
                failures.append(e)
                continue
            call.caller = str(auth.caller.urn)
            return auth
        scoped = [e for e in failures if e.reason == "scope"]
        best = scoped[0] if scoped else failures[-1]
        message = best.message
        if best.reason == "missing-privilege" and method in self._HINTS:
            message += "; " + self._HINTS[method]
        raise Forbidden(message, reason=best.reason)

    def _ours(self, verified):
        root = verified.signers[-1].root
        if root != self.manager.root.chain[-1]:
            raise Forbidden(f"the credential was issued under {root.urn}, not by this "
                            "registry; use a credential from this registry", reason="scope")

    def _authority_scope(self, namespace, what, *, self_urn=None):
        """A scope check: an authority credential governing ``namespace``."""
        def check(verified):
            target = verified.top.target_urn
            if self_urn is not None and target == self_urn:
                self._ours(verified)
                return
            if target.type != "authority":
                raise Forbidden(
                    f"{what} needs an authority credential (from GetCredential with type "
                    f"'authority', for a PI of {hrnmod.namespace_hrn(namespace) or 'the root'});"
                    f" the credential given is for {target.type} {target.hrn}", reason="scope")
            governed = target.authority.lower()
            if not _covers(namespace, governed):
                raise Forbidden(
                    f"your authority credential is for {target.hrn}, which does not govern "
                    f"{hrnmod.namespace_hrn(namespace) or 'the root'}; {what} needs a "
                    "credential of that authority or one above it", reason="scope")
            self._ours(verified)
        return check

    async def _one_record(self, xrn, rtype):
        urns = hrnmod.candidates(xrn, hrnmod.normalise_type(rtype))
        found = await self.manager.find(urns)
        if not found:
            if len(urns) == 1:
                await self.manager.get(urns[0])  # raises, saying why (removed...)
            raise RecordNotFound(f"{xrn}")
        if len(found) > 1:
            kinds = ", ".join(r.type for r in found)
            raise BadArgs(f"{xrn} names several records ({kinds}); give the type argument")
        return found[0]

    # ------------------------------------------------------------ methods

    async def GetVersion(self, call, options=None):
        root = self.manager.root
        return {
            "interface": "registry",
            "sfa": SFA_VERSION,
            "geni_api": 3,
            "hrn": root.urn.hrn,
            "urn": str(root.urn),
            "peers": {},
            "code_tag": _gam_version(),
            "code_url": "gam",
            "gam_registry": {
                "slice_max_lifetime_days": self.manager.settings.slice_max_lifetime.days,
                "record_types": list(hrnmod.RECORD_TYPES),
            },
        }

    async def GetSelfCredential(self, call, cert, xrn, type=None):
        caller = self.authorizer.identify(call.peer_chain)
        call.caller = str(caller.urn)
        try:
            given = GID.from_pem(cert) if isinstance(cert, str) else None
        except (BadArgs, ValueError):
            given = None
        if given is None:
            raise BadArgs("cert must be your certificate in PEM (the one you connect with)")
        if not given.same_key(caller.gid):
            raise Forbidden("Connection Key GID mismatch: the cert argument is not the "
                            "certificate you connected with; send that one", reason="key-mismatch")
        rtype = hrnmod.normalise_type(type) or "user"
        record = await self._one_record(xrn, rtype)
        return await self.manager.self_credential(record.urn, caller.public_key_der)

    async def GetCredential(self, call, creds, xrn, type=None):
        auth = await self._authorize(call, creds, "GetCredential")
        record = await self._one_record(xrn, type)
        if record.type == "slice":
            call.slice = str(record.urn)
        return await self.manager.credential_for(auth.caller.urn, record.urn,
                                                 caller_key_der=auth.caller.public_key_der)

    async def Resolve(self, call, xrns, creds, options=None):
        _options(options)
        await self._authorize(call, creds, "Resolve")
        if isinstance(xrns, (list, tuple)):
            if not xrns:
                raise BadArgs("Resolve needs at least one HRN or URN")
            names, rtype = list(xrns), None
        else:
            names = [xrns]
            rtype = None
        urns = []
        for name in names:
            for urn in hrnmod.candidates(name, rtype):
                if urn not in urns:
                    urns.append(urn)
        records = await self.manager.find(urns)
        if not records:
            raise RecordNotFound(", ".join(str(n) for n in names))
        return [record_to_sfa(r) for r in records]

    async def List(self, call, xrn, creds, options=None):
        options = _options(options)
        await self._authorize(call, creds, "List")
        recursive = bool(options.get("recursive"))
        if isinstance(xrn, str) and xrn.endswith("*"):
            xrn, recursive = xrn[:-1].rstrip("."), True
        urn = hrnmod.candidates(xrn, "authority")[0]
        try:
            records = await self.manager.list(urn.authority, recursive=recursive)
        except RecordNotFound:
            raise RecordNotFound(f"{xrn}", "Missing authority: this registry has no such "
                                 "authority; List takes an authority HRN such as "
                                 f"{self.manager.root.urn.hrn!r}") from None
        return [record_to_sfa(r) for r in records]

    async def Register(self, call, record, creds):
        spec = sfa_to_spec(record)
        parent = hrnmod.parent_namespace(spec.urn)
        await self._authorize(call, creds, "Register",
                        self._authority_scope(parent, f"registering {spec.urn.hrn}"))
        if spec.type == "slice":
            call.slice = str(spec.urn)
        if spec.type == "user" and spec.public_key is None and spec.ssh_keys:
            key = ssh_rsa_key(spec.ssh_keys)
            if key is not None:
                spec = spec.__class__(**{**spec.__dict__, "public_key": key})
        registered = await self.manager.register(spec)
        chain = registered.record.gid
        if registered.private_key_pem:
            return registered.private_key_pem + chain
        return chain

    async def Update(self, call, record, creds):
        spec = sfa_to_spec(record)
        current = await self.manager.get(spec.urn)
        if current.type == "slice":
            call.slice = str(current.urn)
        own = current.urn if current.type != "node" else None
        auth = await self._authorize(call, creds, "Update", self._authority_scope(
            current.parent, f"updating {current.hrn}", self_urn=own))
        target = auth.credential.top.target_urn
        if target == current.urn and current.type == "slice":
            if spec.researchers is not None and set(spec.researchers) != set(current.researchers):
                raise Forbidden(f"a slice credential may renew {current.hrn} but not change its "
                                "researchers; a PI of its authority does that with an "
                                "authority credential", reason="scope")
        await self.manager.update(spec)
        return 1

    async def Remove(self, call, xrn, creds, type=None):
        record = await self._one_record(xrn, type)
        if record.type == "slice":
            call.slice = str(record.urn)
        await self._authorize(call, creds, "Remove",
                        self._authority_scope(record.parent, f"removing {record.hrn}"))
        await self.manager.remove(record.urn)
        return 1


__all__ = ["RegistryAPI", "normalise_credentials", "SFA_VERSION"]
