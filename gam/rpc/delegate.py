"""What the AM API v3 endpoint expects of the aggregate behind it.

The endpoint (:mod:`gam.rpc.amapi3`) decodes the wire arguments, verifies
the caller and credentials, and then calls one method of a delegate with
plain Python values. Every method is ``async`` and returns plain values
(dicts, lists, strings, ints, bools; datetimes are allowed anywhere and
sent as RFC 3339 strings; ``None`` is not allowed anywhere: XML-RPC has no
nil). Errors are raised as :class:`gam.errors.GeniError` subclasses, whose
geni_code and message reach the client; any other exception is answered
with geni_code 5 and logged.

Arguments as the endpoint hands them over:

- ``auth``: the :class:`gam.auth.Authorization` that allowed the call
  (``auth.caller.urn`` is the user, ``auth.expires`` when the granting
  credential ends: no sliver may outlive it).
- ``slice_urn``: a :class:`gam.auth.URN` of type slice.
- ``sliver_urns``: ``None`` when the call names the whole slice, else a
  non-empty list of :class:`gam.auth.URN` of type sliver, all of the slice
  (the endpoint has checked that with :meth:`resolve_slice`).
- ``options``: the client's options struct, a new dict; ``geni_end_time``
  and ``geni_start_time`` arrive already parsed as aware UTC datetimes;
  ``geni_rspec_version`` has been checked where the method uses it; every
  other option (``geni_best_effort``, ``geni_users``, ...) is as sent.
"""
import datetime
from typing import Protocol, runtime_checkable

from gam.auth import URN, Authorization


@runtime_checkable
class AMDelegate(Protocol):
    async def get_version(self) -> dict:
        """The ``value`` of GetVersion (geni_api_versions, rspec versions,
        credential types, geni_single_allocation as an int, geni_allocate...).
        The endpoint adds ``geni_api: 3`` to it and to the envelope."""

    async def resolve_slice(self, urns: list) -> URN:
        """The slice holding every one of these sliver URNs.

        Raise SearchFailed (12) when one is unknown here (or expired or
        deleted), BadArgs (1) when they belong to different slices.
        """

    async def list_resources(self, auth: Authorization, options: dict) -> str:
        """The advertisement RSpec (``geni_available`` is in options). The
        endpoint compresses it when ``geni_compressed`` is true."""

    async def describe(self, auth: Authorization, slice_urn: URN, sliver_urns: list | None,
                       options: dict) -> dict:
        """``{geni_rspec: manifest, geni_urn, geni_slivers: [sliver_info]}``; a slice
        with no slivers here is a success with an empty manifest. The endpoint
        compresses ``geni_rspec`` when ``geni_compressed`` is true."""

    async def allocate(self, auth: Authorization, slice_urn: URN, rspec: str,
                       options: dict) -> dict:
        """Book the request RSpec: ``{geni_rspec: manifest, geni_slivers}``."""

    async def renew(self, auth: Authorization, slice_urn: URN, sliver_urns: list | None,
                    expiration_time: datetime.datetime, options: dict) -> list:
        """Extend slivers to ``expiration_time`` (aware UTC): ``[sliver_info]``.
        ``geni_best_effort`` and ``geni_extend_alap`` are in options."""

    async def provision(self, auth: Authorization, slice_urn: URN, sliver_urns: list | None,
                        options: dict) -> dict:
        """Instantiate allocated slivers: ``{geni_rspec: manifest, geni_slivers}``."""

    async def status(self, auth: Authorization, slice_urn: URN, sliver_urns: list | None,
                     options: dict) -> dict:
        """``{geni_urn, geni_slivers}``, each sliver_info with ``geni_error``."""

    async def perform_operational_action(self, auth: Authorization, slice_urn: URN,
                                         sliver_urns: list | None, action: str,
                                         options: dict) -> list:
        """Run ``action`` (``geni_start``...): ``[sliver_info]``. An unknown
        action or one not allowed in the slivers' state raises Unsupported (13)."""

    async def delete(self, auth: Authorization, slice_urn: URN, sliver_urns: list | None,
                     options: dict) -> list:
        """Delete slivers: ``[sliver_info]`` (now ``geni_unallocated``)."""

    async def shutdown(self, auth: Authorization, slice_urn: URN, options: dict) -> bool:
        """Stop everything of the slice and lock it: True."""


__all__ = ["AMDelegate"]
