"""What the aggregate answers about slivers: sliver_info structs and manifests.

Manifests are rebuilt from the stored request fragments of the slivers
(``request_xml``) and what the aggregate decided (``data``: host, image,
VLAN tag, and the drivers' outcome data with logins and MAC addresses).
"""
from gam.rspec import (
    InterfacePart, LinkInterfacePart, LinkPart, Login, NodePart, build_manifest)
from gam.rspec.advertisement import interface_component_id

# Allocation and operational states (AM API v3).
UNALLOCATED = "geni_unallocated"
ALLOCATED = "geni_allocated"
PROVISIONED = "geni_provisioned"
PENDING = "geni_pending_allocation"
NOTREADY = "geni_notready"
CONFIGURING = "geni_configuring"
STOPPING = "geni_stopping"
READY = "geni_ready"
READY_BUSY = "geni_ready_busy"
FAILED = "geni_failed"
UPDATING_USERS = "geni_updating_users"

#: States in which a driver is working on the sliver.
TRANSITIONAL = frozenset({CONFIGURING, STOPPING, UPDATING_USERS})


def sliver_info(sliver, error=None):
    """The sliver_info struct of a :class:`gam.db.slivers.Sliver`.

    ``error`` (when given) replaces the stored ``geni_error``: the outcome
    of this call for this sliver, in best-effort answers.
    """
    return {
        "geni_sliver_urn": sliver.urn,
        "geni_expires": sliver.expires,
        "geni_allocation_status": UNALLOCATED if sliver.deleted else sliver.allocation_state,
        "geni_operational_status": sliver.operational_state,
        "geni_error": sliver.error if error is None else error,
    }


def _logins(driver):
    out = []
    for login in driver.get("logins") or ():
        try:
            out.append(Login(username=str(login["username"]), hostname=str(login["hostname"]),
                             port=int(login.get("port", 22))))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(out)


def node_part(sliver, inventory):
    data = sliver.data
    driver = data.get("driver") or {}
    host = inventory.host(data.get("host", ""))
    iface_component = interface_component_id(inventory, host) if host is not None else None
    macs = driver.get("interfaces") or {}
    interfaces = []
    for iface in data.get("interfaces") or ():
        found = macs.get(iface["client_id"]) or {}
        interfaces.append(InterfacePart(client_id=iface["client_id"],
                                        mac_address=found.get("mac"),
                                        component_id=iface_component))
    return NodePart(
        xml=sliver.request_xml, sliver_id=sliver.urn, component_id=sliver.component_id,
        component_manager_id=inventory.component_manager_id,
        host=driver.get("hostname"), logins=_logins(driver), interfaces=tuple(interfaces),
        sliver_type=sliver.sliver_type, disk_image=data.get("image_urn"),
        exclusive=data.get("exclusive"))


def link_part(sliver, inventory):
    data = sliver.data
    refs = []
    for end in data.get("ends") or ():
        host = inventory.host(end.get("host") or "")
        refs.append(LinkInterfacePart(
            client_id=end["interface"],
            component_id=interface_component_id(inventory, host) if host else None))
    return LinkPart(xml=sliver.request_xml, sliver_id=sliver.urn,
                    vlantag=data.get("vlan_tag", 0), interface_refs=tuple(refs),
                    component_manager_id=inventory.component_manager_id)


def manifest(slivers, inventory, now=None):
    """The manifest RSpec (text) of these slivers, nodes first then links."""
    parts = [node_part(s, inventory) for s in slivers if s.kind == "node"]
    parts += [link_part(s, inventory) for s in slivers if s.kind == "link"]
    return build_manifest(parts, now=now)


__all__ = ["sliver_info", "manifest", "node_part", "link_part", "UNALLOCATED", "ALLOCATED",
           "PROVISIONED", "PENDING", "NOTREADY", "CONFIGURING", "STOPPING", "READY",
           "FAILED", "UPDATING_USERS", "TRANSITIONAL"]
