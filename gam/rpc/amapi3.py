"""The GENI AM API v3 endpoint: wire arguments in, delegate calls out.

Each method decodes its arguments as the API defines them (raising BadArgs
or BadVersion for what is wrong), authorizes the call on its slice through
:class:`gam.auth.Authorizer`, and calls the delegate
(:class:`gam.rpc.delegate.AMDelegate`). The XML-RPC resource wraps results
and errors in the GENI envelope.

``urns`` (Describe, Renew, Provision, Status, PerformOperationalAction,
Delete) is one slice URN, or sliver URNs of one slice (the delegate's
``resolve_slice`` tells which); a slice URN among sliver URNs of the same
slice means the whole slice; anything else is BadArgs.
"""
import base64
import zlib

from gam.auth.urn import URN
from gam.errors import BadArgs, BadVersion
from gam.rpc.envelope import Result
from gam.rpc.wire import parse_time

API_VERSION = 3
# (type folded to lower case, version) pairs accepted in geni_rspec_version.
DEFAULT_RSPEC_VERSIONS = (("geni", "3"),)
TIME_OPTIONS = ("geni_end_time", "geni_start_time")
_EXAMPLE_VERSION = "{'type': 'GENI', 'version': '3'}"


def compress(text):
    """``geni_compressed`` form of an RSpec: base64 of its zlib compression."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")


def decompress(text):
    return zlib.decompress(base64.b64decode(text)).decode("utf-8")


def _flag(options, name):
    value = options.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise BadArgs(f"option {name} must be a boolean, not {value!r}")


def decode_options(options):
    """A new dict of the options struct, with time options parsed to datetimes."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise BadArgs(f"options must be a struct, not {type(options).__name__}")
    options = dict(options)
    for name in TIME_OPTIONS:
        if name in options:
            options[name] = parse_time(options[name], f"option {name}")
    return options


def decode_slice_urn(value, what="slice_urn"):
    if not isinstance(value, str):
        raise BadArgs(f"{what} must be a slice URN string, not {type(value).__name__}")
    return URN.parse(value, expect_type="slice")


def split_urns(urns):
    """``(slice URN or None, [sliver URNs])`` of the ``urns`` argument.

    Raises BadArgs unless it names at most one slice and otherwise only slivers.
    """
    if isinstance(urns, str):
        urns = [urns]
    if not isinstance(urns, (list, tuple)) or not urns:
        raise BadArgs("urns must be a non-empty list holding one slice URN or sliver URNs "
                      "of one slice")
    slices, slivers = [], []
    for item in urns:
        if not isinstance(item, str):
            raise BadArgs(f"urns must hold URN strings, not {type(item).__name__}")
        urn = URN.parse(item)
        if urn.type == "slice":
            if urn not in slices:
                slices.append(urn)
        elif urn.type == "sliver":
            if urn not in slivers:
                slivers.append(urn)
        else:
            raise BadArgs(f"{urn} is a {urn.type} URN; urns takes one slice URN or sliver URNs")
    if len(slices) > 1:
        raise BadArgs("urns names several slices (" + ", ".join(map(str, slices)) + "); "
                      "a call acts on one slice: name it, or slivers of it")
    return (slices[0] if slices else None), slivers


def decode_rspec(rspec):
    """The request RSpec text (clients send a string, some base64)."""
    rspec = getattr(rspec, "data", rspec)
    if isinstance(rspec, bytes):
        try:
            rspec = rspec.decode("utf-8")
        except UnicodeDecodeError:
            raise BadArgs("the request RSpec is not UTF-8 text") from None
    if not isinstance(rspec, str) or not rspec.strip():
        raise BadArgs("rspec must be the request RSpec document as a non-empty string")
    return rspec


class AMAPIv3:
    """The AM API v3 methods, for :class:`gam.rpc.xmlrpc.XMLRPCResource`."""

    def __init__(self, delegate, authorizer, *, rspec_versions=DEFAULT_RSPEC_VERSIONS):
        self.delegate = delegate
        self.authorizer = authorizer
        self.rspec_versions = frozenset((t.lower(), str(v)) for t, v in rspec_versions)
        self._procedures = {name: getattr(self, name) for name in (
            "GetVersion", "ListResources", "Describe", "Allocate", "Renew", "Provision",
            "Status", "PerformOperationalAction", "Delete", "Shutdown")}

    def procedures(self):
        return self._procedures

    # ------------------------------------------------------------ helpers

    async def _authorize(self, call, credentials, target, method, options):
        auth = await self.authorizer.authorize_in_pool(call.peer_chain, credentials, target,
                                                       method, options)
        caller = auth.caller
        call.caller = str(caller.urn)
        if caller.tool is not None:
            call.caller += f" (speaks-for, tool {caller.tool.urn})"
        return auth

    def _check_rspec_version(self, options, method, required):
        version = options.get("geni_rspec_version")
        if version is None:
            if required:
                raise BadArgs(f"{method} needs the option geni_rspec_version, such as "
                              f"{_EXAMPLE_VERSION}")
            return
        if (not isinstance(version, dict) or not isinstance(version.get("type"), str)
                or not isinstance(version.get("version"), (str, int))
                or isinstance(version.get("version"), bool)):
            raise BadArgs(f"option geni_rspec_version must be a struct with type and version, "
                          f"such as {_EXAMPLE_VERSION}")
        key = (str(version["type"]).strip().lower(), str(version["version"]).strip())
        if key not in self.rspec_versions:
            known = ", ".join(f"{t.upper()} {v}" for t, v in sorted(self.rspec_versions))
            raise BadVersion(f"RSpec version {version['type']} {version['version']} is not "
                             f"supported; this aggregate speaks {known}")

    async def _target(self, call, urns, credentials, method, options):
        """``(slice URN, sliver URNs or None for the whole slice)`` of ``urns``.

        Sliver URNs are looked up to find their slice, but only for a caller
        whose credentials allow ``method`` somewhere: nobody learns from the
        answer which slivers exist without one (the caller's full check, on
        the slice found, follows in the method)."""
        slice_urn, slivers = split_urns(urns)
        selected = None
        if slivers:
            await self._authorize(call, credentials, None, method, options)
            owner = await self.delegate.resolve_slice(list(slivers))
            owner = URN.parse(owner, expect_type="slice")
            if slice_urn is None:
                slice_urn, selected = owner, slivers
            elif owner != slice_urn:
                raise BadArgs(f"the slivers named belong to {owner}, not to {slice_urn}; "
                              "name slivers of one slice only")
        call.slice = str(slice_urn)
        return slice_urn, selected

    # ------------------------------------------------------------ methods

    async def GetVersion(self, call, options=None):
        decode_options(options)
        value = await self.delegate.get_version()
        if not isinstance(value, dict):
            raise TypeError(f"get_version returned {type(value).__name__}, not a dict")
        value = dict(value)
        value.setdefault("geni_api", API_VERSION)
        return Result(value, extra={"geni_api": API_VERSION})

    async def ListResources(self, call, credentials, options=None):
        options = decode_options(options)
        self._check_rspec_version(options, "ListResources", required=True)
        compressed = _flag(options, "geni_compressed")
        auth = await self._authorize(call, credentials, None, "ListResources", options)
        rspec = await self.delegate.list_resources(auth, options)
        if not isinstance(rspec, str):
            raise TypeError(f"list_resources returned {type(rspec).__name__}, not a string")
        return compress(rspec) if compressed else rspec

    async def Describe(self, call, urns, credentials, options=None):
        options = decode_options(options)
        self._check_rspec_version(options, "Describe", required=True)
        compressed = _flag(options, "geni_compressed")
        slice_urn, slivers = await self._target(call, urns, credentials, "Describe", options)
        auth = await self._authorize(call, credentials, slice_urn, "Describe", options)
        result = await self.delegate.describe(auth, slice_urn, slivers, options)
        if compressed and isinstance(result, dict) and isinstance(result.get("geni_rspec"), str):
            result = dict(result, geni_rspec=compress(result["geni_rspec"]))
        return result

    async def Allocate(self, call, slice_urn, credentials, rspec, options=None):
        slice_urn = decode_slice_urn(slice_urn)
        call.slice = str(slice_urn)
        rspec = decode_rspec(rspec)
        options = decode_options(options)
        auth = await self._authorize(call, credentials, slice_urn, "Allocate", options)
        return await self.delegate.allocate(auth, slice_urn, rspec, options)

    async def Renew(self, call, urns, credentials, expiration_time, options=None):
        expiration_time = parse_time(expiration_time, "expiration_time")
        options = decode_options(options)
        slice_urn, slivers = await self._target(call, urns, credentials, "Renew", options)
        auth = await self._authorize(call, credentials, slice_urn, "Renew", options)
        return await self.delegate.renew(auth, slice_urn, slivers, expiration_time, options)

    async def Provision(self, call, urns, credentials, options=None):
        options = decode_options(options)
        self._check_rspec_version(options, "Provision", required=False)
        slice_urn, slivers = await self._target(call, urns, credentials, "Provision", options)
        auth = await self._authorize(call, credentials, slice_urn, "Provision", options)
        return await self.delegate.provision(auth, slice_urn, slivers, options)

    async def Status(self, call, urns, credentials, options=None):
        options = decode_options(options)
        slice_urn, slivers = await self._target(call, urns, credentials, "Status", options)
        auth = await self._authorize(call, credentials, slice_urn, "Status", options)
        return await self.delegate.status(auth, slice_urn, slivers, options)

    async def PerformOperationalAction(self, call, urns, credentials, action, options=None):
        if not isinstance(action, str) or not action.strip():
            raise BadArgs("action must be the name of an operational action, such as "
                          "'geni_start'")
        options = decode_options(options)
        slice_urn, slivers = await self._target(call, urns, credentials,
                                                "PerformOperationalAction", options)
        auth = await self._authorize(call, credentials, slice_urn, "PerformOperationalAction",
                               options)
        return await self.delegate.perform_operational_action(
            auth, slice_urn, slivers, action.strip(), options)

    async def Delete(self, call, urns, credentials, options=None):
        options = decode_options(options)
        slice_urn, slivers = await self._target(call, urns, credentials, "Delete", options)
        auth = await self._authorize(call, credentials, slice_urn, "Delete", options)
        return await self.delegate.delete(auth, slice_urn, slivers, options)

    async def Shutdown(self, call, slice_urn, credentials, options=None):
        slice_urn = decode_slice_urn(slice_urn)
        call.slice = str(slice_urn)
        options = decode_options(options)
        auth = await self._authorize(call, credentials, slice_urn, "Shutdown", options)
        return await self.delegate.shutdown(auth, slice_urn, options)


__all__ = ["AMAPIv3", "compress", "decompress", "split_urns", "decode_options",
           "decode_slice_urn", "decode_rspec", "DEFAULT_RSPEC_VERSIONS", "API_VERSION"]
