"""The quickstart's options and the configuration files it writes from them.

The files are ordinary gam configuration (``etc/gam.yaml``,
``etc/registry.yaml``, ``etc/drivers/netns.yaml`` formats), so the same
state directory also runs as two services: ``gam registry -c
<dir>/etc/registry.yaml`` and ``gam am -c <dir>/etc/gam.yaml``.
"""
import ipaddress
import os
import socket
from dataclasses import dataclass

import yaml

from gam.quickstart.layout import Layout

AM_PORT = 12346
REGISTRY_PORT = 12345
AM_PATH = "/am/3.0"
REGISTRY_PATH = "/registry"

#: The small default inventory: two logical hosts of this machine.
HOSTS = ({"name": "node1", "hardware_type": "pc", "cores": 4, "memory_mb": 8192},
         {"name": "node2", "hardware_type": "pc", "cores": 4, "memory_mb": 8192})
VLAN_TAGS = "1000-1099"


@dataclass(frozen=True)
class Options:
    """What ``gam quickstart`` was asked for (all have defaults)."""

    directory: str | None = None
    host: str = "127.0.0.1"            # address the AM, registry and logins listen on
    public_name: str | None = None     # the name in URLs and logins
    am_port: int = AM_PORT
    registry_port: int = REGISTRY_PORT
    authority: str = "gam"
    user: str = "alice"
    slice: str = "demo"
    prefix: str = "gq"                 # names of the driver's host objects
    login_ports: str = "30000-39999"

    @property
    def layout(self):
        return Layout.at(self.directory)

    @property
    def am_urn(self):
        return f"urn:publicid:IDN+{self.authority}+authority+am"

    @property
    def name(self):
        """The host name or address clients use."""
        if self.public_name:
            return self.public_name
        if self.host in ("0.0.0.0", "::", ""):
            return socket.getfqdn()
        return self.host

    def url(self, port, path):
        host = self.name
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return f"https://{host}:{port}{path}"


def registry_yaml(options):
    layout = options.layout
    return {"registry": {
        "authority": options.authority,
        "state_dir": layout.registry_dir,
        "database": layout.database_url,
        "listen": {"host": options.host, "port": options.registry_port,
                   "path": REGISTRY_PATH},
        # The URL omni_config names; with port 0 it is fixed up once listening.
        "url": options.url(options.registry_port, REGISTRY_PATH),
    }}


def am_yaml(options):
    layout = options.layout
    am = {"host": options.host, "port": options.am_port, "path": AM_PATH,
          "urn": options.am_urn,
          "state_dir": layout.am_dir}
    if options.am_port:
        am["public_url"] = options.url(options.am_port, AM_PATH)
    return {
        "am": am,
        "tls": {"certificate": layout.am_cert, "key": layout.am_key,
                "trust_roots": layout.trust_roots},
        "database": {"url": layout.database_url},
        "drivers": {"config_dir": layout.drivers_dir},
        "inventory": {
            "authority": options.authority,
            "default_sliver_type": "default-vm",
            "sliver_types": [
                {"name": "default-vm", "exclusive": False, "cores": 1, "memory_mb": 1024},
                {"name": "emulab-xen", "exclusive": False, "cores": 1, "memory_mb": 1024},
                {"name": "raw-pc", "exclusive": True},
            ],
            "hosts": [dict(h) for h in HOSTS],
            "links": {"vlan_tags": VLAN_TAGS},
        },
    }


def drivers_yaml(options):
    layout = options.layout
    node = {
        "class": "gam.drivers.netns.NetnsNodeHandler",
        "resource_types": ["namespace", "default-vm", "emulab-xen", "raw-pc"],
        "description": "a node is a set of Linux namespaces with its own sshd on this host",
        "prefix": options.prefix,
        "state_dir": layout.netns_dir,
        "login": {"bind": options.host if options.host not in ("", "::") else "0.0.0.0",
                  "hostname": options.name, "ports": options.login_ports},
    }
    link = {
        "class": "gam.drivers.netns.NetnsLinkHandler",
        "resource_types": ["link"],
        "description": "a link or LAN is a bridge of its own with veth pairs to its nodes",
        "prefix": options.prefix,
    }
    return {"handlers": {"netns-node": node, "netns-link": link}}


def write_yaml(path, data, comment):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = f"# {comment}\n# Written by 'gam quickstart' at every start: edit its options instead.\n"
    text += yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_configs(options):
    """Write the three configuration files of ``options``; return their paths."""
    layout = options.layout
    drivers = os.path.join(layout.drivers_dir, "netns.yaml")
    write_yaml(layout.registry_config, registry_yaml(options),
               "gam registry configuration (gam registry -c this-file)")
    write_yaml(layout.am_config, am_yaml(options),
               "gam AM configuration (gam am -c this-file)")
    write_yaml(drivers, drivers_yaml(options), "gam namespace driver")
    return layout.registry_config, layout.am_config, drivers


def inventory_text():
    names = ", ".join(h["name"] for h in HOSTS)
    first = HOSTS[0]
    return (f"{len(HOSTS)} hosts ({names}: {first['cores']} cores, {first['memory_mb']} MB "
            f"each), VLAN tags {VLAN_TAGS}")


__all__ = ["Options", "write_configs", "registry_yaml", "am_yaml", "drivers_yaml",
           "inventory_text", "AM_PORT", "REGISTRY_PORT", "AM_PATH", "REGISTRY_PATH"]
