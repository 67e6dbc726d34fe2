"""Putting the AM's wire together: delegate + authorizer -> Site.

    site = am_site(delegate, Authorizer(trust_roots), path="/am/3.0")
    options = tls.server_options(am_chain, am_key, trust_roots)
    port = tls.listen(reactor, site, "0.0.0.0", 12346, options)
"""
from gam.rpc.amapi3 import DEFAULT_RSPEC_VERSIONS, AMAPIv3
from gam.rpc.site import ALIASES, DEFAULT_PATH, build_site
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


__all__ = ["am_resource", "am_site"]
