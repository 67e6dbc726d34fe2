"""Putting the AM's wire together: delegate + authorizer -> Site.

    site = am_site(delegate, Authorizer(trust_roots), path="/am/3.0")
    options = tls.server_options(am_chain, am_key, trust_roots)
    port = tls.listen(reactor, site, "0.0.0.0", 12346, options)

:func:`am_site_with_v2` serves AM API v2 at ``/am/2.0`` as well, over the
same delegate and authorizer (for geni-lib's v2 wrappers).
"""
from gam.rpc.amapi2 import V2_PATH, AMAPIv2
from gam.rpc.amapi3 import DEFAULT_RSPEC_VERSIONS, AMAPIv3
from gam.rpc.site import ALIASES, DEFAULT_PATH, GamSite, PathRouter, build_site
from gam.rpc.envelope import GeniEnvelope
from gam.rpc.xmlrpc import XMLRPCResource


def am_resource(delegate, authorizer, *, clock=None, rspec_versions=DEFAULT_RSPEC_VERSIONS):
    """The AM API v3 XML-RPC resource (one leaf; mount it anywhere)."""
    return XMLRPCResource(AMAPIv3(delegate, authorizer, rspec_versions=rspec_versions),
                          clock=clock)


def am_site(delegate, authorizer, *, path=DEFAULT_PATH, aliases=ALIASES, clock=None,
            rspec_versions=DEFAULT_RSPEC_VERSIONS, **site_options):
    """A Site serving AM API v3 on ``path``, ``/`` and ``/RPC2``.

    ``site_options``: ``max_body`` (bytes, default 4 MB), ``discard_limit``,
    ``idle_timeout`` (seconds), see :class:`gam.rpc.site.GamSite`.
    """
    resource = am_resource(delegate, authorizer, clock=clock, rspec_versions=rspec_versions)
    return build_site(resource, path=path, aliases=aliases, **site_options)


def am_v2_resource(delegate, authorizer, *, clock=None, rspec_versions=DEFAULT_RSPEC_VERSIONS,
                   path=V2_PATH, start_after_provision=False):
    """The AM API v2 XML-RPC resource over the v3 delegate (see :mod:`gam.rpc.amapi2`).

    ``path`` is where it is mounted (GetVersion names it when the delegate
    lists only v3); ``start_after_provision``: see :class:`AMAPIv2`.
    """
    handler = AMAPIv2(delegate, authorizer, rspec_versions=rspec_versions, path=path,
                      start_after_provision=start_after_provision)
    # geni-lib's ProtoGENI/InstaGENI aggregate classes read this member of
    # the v2 code struct (ProtoGENI AMs send it); with it they work on gam.
    return XMLRPCResource(handler, envelope=GeniEnvelope(extra_code={"protogeni_error_url": ""}),
                          clock=clock)


def am_site_with_v2(delegate, authorizer, *, path=DEFAULT_PATH, v2_path=V2_PATH,
                    aliases=ALIASES, clock=None, rspec_versions=DEFAULT_RSPEC_VERSIONS,
                    start_after_provision=False, **site_options):
    """A Site serving AM API v3 on ``path``, ``/`` and ``/RPC2``, and AM API v2
    on ``v2_path``, both over one delegate and authorizer.

    The delegate's ``get_version`` should list both URLs in
    ``geni_api_versions`` (see :func:`gam.rpc.amapi2.api_versions`).
    ``site_options`` as for :func:`am_site`.
    """
    v3 = am_resource(delegate, authorizer, clock=clock, rspec_versions=rspec_versions)
    v2 = am_v2_resource(delegate, authorizer, clock=clock, rspec_versions=rspec_versions,
                        path=v2_path, start_after_provision=start_after_provision)
    v3_paths = {PathRouter._key(p) for p in (path, *aliases)}
    if PathRouter._key(v2_path) in v3_paths:
        raise ValueError(f"the v2 path {v2_path!r} is also a v3 path; serve v2 elsewhere "
                         "(the default is /am/2.0)")
    routes = {alias: v3 for alias in aliases}
    routes[path] = v3
    routes[v2_path] = v2
    return GamSite(PathRouter(routes), **site_options)


__all__ = ["am_resource", "am_site", "am_v2_resource", "am_site_with_v2"]
