"""Filters for gam's netns playbooks (run on the Ansible controller).

gam_mgmt_address  the management address of the node with a given index
gam_prefix        a dotted netmask (or a prefix length) as a prefix length
gam_hostname      a client_id made into a host name
gam_accounts      the passwd/group/shadow a node sees, and its users' uids
gam_logins        the logins of a node's users
gam_interfaces    the outcome's interfaces from the plan and ``ip -j link``
"""
import ipaddress
import re

FIRST_UID = 20000
_LOGIN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def gam_mgmt_address(network, index):
    """``{address, prefix, gateway}``: the gateway is the network's first
    address (on the host's bridge), node ``index`` (>= 2) gets the
    index-th."""
    net = ipaddress.ip_network(str(network), strict=True)
    index = int(index)
    if index < 2 or index >= net.num_addresses - 1:
        raise ValueError(f"management network {net} has no room for node number {index}; "
                         "give netns_mgmt_network a larger prefix")
    return {"address": str(net.network_address + index), "prefix": net.prefixlen,
            "gateway": str(net.network_address + 1), "network": str(net)}


def gam_prefix(netmask):
    if netmask in (None, ""):
        return 24
    text = str(netmask)
    if text.isdigit():
        return int(text)
    return ipaddress.ip_network(f"0.0.0.0/{text}").prefixlen


def gam_hostname(client_id):
    name = re.sub(r"[^A-Za-z0-9-]+", "-", str(client_id)).strip("-")[:63]
    return name or "node"


def _parse(text):
    rows = []
    for line in (text or "").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def gam_accounts(users, host_passwd, host_group, current_passwd=""):
    """The node's own account files: the host's system accounts (uid <
    1000, and nobody) plus one account per experimenter, whose uid stays
    what ``current_passwd`` (the node's file, if any) gave it."""
    kept = {}
    for row in _parse(current_passwd):
        if len(row) >= 3 and row[2].isdigit() and int(row[2]) >= FIRST_UID:
            kept[row[0]] = int(row[2])
    system = [r for r in _parse(host_passwd)
              if len(r) >= 7 and r[2].isdigit() and (int(r[2]) < 1000 or r[0] == "nobody")]
    groups = [r for r in _parse(host_group)
              if len(r) >= 4 and r[2].isdigit() and (int(r[2]) < 1000 or r[0] == "nogroup")]
    taken_names = {r[0] for r in system} | {r[0] for r in groups}
    used = set(kept.values())
    accounts = []
    for user in users or []:
        name = str(user["name"])
        if not _LOGIN.match(name) or name in taken_names:
            raise ValueError(f"user name {name!r} cannot be an account on a node (it is "
                             "a system account or not a valid login)")
        uid = kept.get(name)
        if uid is None:
            uid = FIRST_UID
            while uid in used:
                uid += 1
        used.add(uid)
        accounts.append({"name": name, "uid": uid, "keys": [str(k) for k in user["keys"]]})
    passwd = [":".join(r[:7]) for r in system]
    passwd += [f"{a['name']}:x:{a['uid']}:{a['uid']}:gam user:/home/{a['name']}:/bin/bash"
               for a in accounts]
    group = [":".join(r[:4]) for r in groups]
    group += [f"{a['name']}:x:{a['uid']}:" for a in accounts]
    # '*': no password, but not locked (sshd refuses locked accounts).
    shadow = [f"{r[0]}:*:19000:0:99999:7:::" for r in system]
    shadow += [f"{a['name']}:*:19000:0:99999:7:::" for a in accounts]
    return {"passwd": "\n".join(passwd) + "\n", "group": "\n".join(group) + "\n",
            "shadow": "\n".join(shadow) + "\n", "users": accounts}


def gam_logins(accounts, hostname, port):
    return [{"username": a["name"], "hostname": str(hostname), "port": int(port)}
            for a in accounts]


def gam_interfaces(plan_interfaces, ip_links):
    """``{client_id: {device, mac, address, netmask}}``; interface i of the
    plan is eth<i> in the node."""
    macs = {link.get("ifname"): link.get("address") for link in ip_links}
    out = {}
    for i, iface in enumerate(plan_interfaces):
        device = f"eth{i}"
        if device not in macs:
            raise ValueError(f"interface {iface['client_id']} ({device}) is missing in the node")
        out[iface["client_id"]] = {"device": device, "mac": macs[device],
                                   "address": iface.get("address"),
                                   "netmask": iface.get("netmask")}
    return out


class FilterModule:
    def filters(self):
        return {"gam_mgmt_address": gam_mgmt_address, "gam_prefix": gam_prefix,
                "gam_hostname": gam_hostname, "gam_accounts": gam_accounts,
                "gam_logins": gam_logins, "gam_interfaces": gam_interfaces}
