"""GetVersion's value: what omni, jFed and the acceptance tests check."""
from gam.rpc.amapi2 import api_versions
from gam.rspec import namespaces as ns

#: Extensions gam reads in requests (emulab: ``<emulab:xen cores= ram=>``).
REQUEST_EXTENSIONS = (ns.EMULAB,)
#: Extensions in gam's advertisements: operational states, link capabilities.
AD_EXTENSIONS = (ns.OPSTATE, ns.GAM_EXT)

CREDENTIAL_TYPES = (
    {"geni_type": "geni_sfa", "geni_version": "3"},
    {"geni_type": "geni_sfa", "geni_version": "2"},
    {"geni_type": "geni_abac", "geni_version": "1"},
)


def _rspec_version(kind, extensions):
    return {"type": "GENI", "version": "3",
            "schema": f"{ns.RSPEC3}/{kind}.xsd",
            "namespace": ns.RSPEC3,
            "extensions": list(extensions)}


def version_value(url, am_urn):
    """The value of GetVersion for an AM reachable at ``url`` (absolute)."""
    return {
        "geni_api": 3,
        # v3 at ``url``, v2 (for geni-lib) beside it on the same site
        "geni_api_versions": api_versions(url),
        "geni_request_rspec_versions": [_rspec_version("request", REQUEST_EXTENSIONS)],
        "geni_ad_rspec_versions": [_rspec_version("ad", AD_EXTENSIONS)],
        "geni_credential_types": [dict(c) for c in CREDENTIAL_TYPES],
        "geni_single_allocation": 0,
        "geni_allocate": "geni_many",
        "geni_handles_speaksfor": True,
        "geni_am_urn": am_urn,
    }


__all__ = ["version_value", "CREDENTIAL_TYPES", "REQUEST_EXTENSIONS", "AD_EXTENSIONS"]
