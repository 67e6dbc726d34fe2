"""Filters for gam's libvirt playbooks (run on the Ansible controller).

gam_vm_interfaces  the plan's interfaces with their MAC, bridge and prefix
gam_logins         the logins of a VM's users
gam_hostname       a client_id made into a host name
gam_outcome_interfaces  the outcome's interfaces
"""
import hashlib
import ipaddress
import re


def _prefix(netmask):
    if netmask in (None, ""):
        return 24
    text = str(netmask)
    if text.isdigit():
        return int(text)
    return ipaddress.ip_network(f"0.0.0.0/{text}").prefixlen


def gam_mac(node_id, index):
    """A stable locally administered MAC (libvirt's 52:54:00 prefix)."""
    h = hashlib.sha256(f"{node_id}/{index}".encode()).hexdigest()
    return f"52:54:00:{h[0:2]}:{h[2:4]}:{h[4:6]}"


def gam_vm_interfaces(plan_interfaces, node_id, stitching):
    """One entry per plan interface: eth<i+1> in the guest (eth0 is the
    management interface), its MAC, the link's bridge, its address."""
    out = []
    for i, iface in enumerate(plan_interfaces):
        link = iface.get("link_sliver")
        bridge = (stitching.get(link) or {}).get("bridge") if link else None
        if link and not bridge:
            raise ValueError(f"interface {iface['client_id']} is on link {link}, which has "
                             "no bridge (the link was not made by the libvirt link playbooks)")
        address = iface.get("address")
        if address:
            address = str(ipaddress.ip_address(address))   # ValueError if it is none
        out.append({"client_id": iface["client_id"], "index": i + 1,
                    "mac": gam_mac(node_id, i + 1), "bridge": bridge,
                    "address": address, "netmask": iface.get("netmask"),
                    "prefix": _prefix(iface.get("netmask"))})
    return out


def gam_outcome_interfaces(vm_interfaces):
    """The outcome's ``{client_id: {device, mac, address, netmask}}``."""
    return {i["client_id"]: {"device": f"eth{i['index']}", "mac": i["mac"],
                             "address": i["address"], "netmask": i["netmask"]}
            for i in vm_interfaces}


def gam_logins(users, hostname, port=22):
    return [{"username": u["name"], "hostname": str(hostname), "port": int(port)}
            for u in users]


def gam_hostname(client_id):
    name = re.sub(r"[^A-Za-z0-9-]+", "-", str(client_id)).strip("-")[:63]
    return name or "node"


class FilterModule:
    def filters(self):
        return {"gam_mac": gam_mac, "gam_vm_interfaces": gam_vm_interfaces,
                "gam_logins": gam_logins, "gam_hostname": gam_hostname,
                "gam_outcome_interfaces": gam_outcome_interfaces}
