"""XML namespaces that gam reads and writes in RSpecs."""

#: GENI RSpec v3 (the only version gam speaks).
RSPEC3 = "http://www.geni.net/resources/rspec/3"

#: A misspelling of RSPEC3 ("resource", no s) found in real documents
#: (e.g. a geni-lib sample). gam reads it as RSPEC3.
RSPEC3_MISSPELT = "http://www.geni.net/resource/rspec/3"

#: Older ProtoGENI RSpec versions, refused with a clear message.
OLD_RSPEC_VERSIONS = {
    "http://www.protogeni.net/resources/rspec/2": "ProtoGENI RSpec v2",
    "http://www.protogeni.net/resources/rspec/0.2": "ProtoGENI RSpec v0.2",
    "http://www.protogeni.net/resources/rspec/0.1": "ProtoGENI RSpec v0.1",
}

XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: Extensions gam reads (everything else in another namespace is carried through).
SHARED_VLAN = (
    "http://www.geni.net/resources/rspec/ext/shared-vlan/1",
    "http://www.protogeni.net/resources/rspec/ext/shared-vlan/1",
)
EMULAB = "http://www.protogeni.net/resources/rspec/ext/emulab/1"
OPSTATE = "http://www.geni.net/resources/rspec/ext/opstate/1"

#: gam's own extension (link capabilities in the advertisement).
GAM_EXT = "urn:gam:rspec:ext:1"

SCHEMA_LOCATION = {
    "request": RSPEC3 + "/request.xsd",
    "manifest": RSPEC3 + "/manifest.xsd",
    "advertisement": RSPEC3 + "/ad.xsd",
}


def q(name, ns=RSPEC3):
    """The Clark name ``{ns}name`` lxml uses for an element or attribute."""
    return "{%s}%s" % (ns, name)
