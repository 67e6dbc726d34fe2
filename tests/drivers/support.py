"""Helpers for the driver tests: plans, a manager over fake handlers."""
from twisted.internet import task

from gam.drivers import base
from gam.drivers.config import parse_config
from gam.drivers.manager import Drivers

SLICE = "urn:publicid:IDN+gam.test+slice+s1"


def sliver(name):
    return f"urn:publicid:IDN+gam.test+sliver+{name}"


def link_plan(name, ends, tag=1001, **kw):
    """A LinkPlan ``name`` joining ``ends``: [(node, iface, address), ...]."""
    return base.LinkPlan(
        sliver_urn=sliver(name), slice_urn=SLICE, client_id=name, vlan_tag=tag,
        ends=tuple(base.LinkEnd(n, i, a, "255.255.255.0" if a else None)
                   for n, i, a in ends), **kw)


def node_plan(name, ifaces=(), users=(), sliver_type="namespace"):
    """A NodePlan ``name``; ``ifaces``: [(iface, link name, address), ...]."""
    return base.NodePlan(
        sliver_urn=sliver(name), slice_urn=SLICE, client_id=name, host="localhost",
        sliver_type=sliver_type,
        interfaces=tuple(base.InterfacePlan(i, sliver(l), a, "255.255.255.0" if a else None)
                         for i, l, a in ifaces),
        users=tuple(users))


def fake_config(node=None, link=None, pool_size=8):
    node = {"class": "gam.drivers.fake.FakeHandler", "resource_types": ["namespace"],
            "timeout": 30, **(node or {})}
    link = {"class": "gam.drivers.fake.FakeHandler", "kind": "link",
            "resource_types": ["link"], "timeout": 30, **(link or {})}
    return parse_config({"pool_size": pool_size,
                         "handlers": {"fake-node": node, "fake-link": link}})


def fake_drivers(clock=None, node=None, link=None, pool_size=8):
    """A Drivers over FakeHandlers on ``clock``; returns (drivers, node, link)."""
    clock = clock or task.Clock()
    d = Drivers(fake_config(node, link, pool_size), clock=clock)
    fakes = d.handler_for("namespace"), d.handler_for("link")
    for fake in fakes:
        fake.clock = clock
    return (d, *fakes)


class Reports(list):
    """A report callback that remembers (urn, state, error)."""

    def __call__(self, outcome):
        self.append((outcome.sliver_urn, outcome.state, outcome.error))

    def states(self, urn):
        return [s for u, s, _ in self if u == urn]


def make_keypair(comment="gam-test"):
    """A fresh ed25519 key: (Paramiko PKey, OpenSSH public key line)."""
    import io

    import paramiko
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(private)), f"{public} {comment}"
