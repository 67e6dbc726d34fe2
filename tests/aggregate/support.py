"""Shared set-up for the aggregate tests: a real database, a Clock, fake drivers.

:class:`AggregateMixin` gives each test ``self.am`` (an Aggregate on a new
SQLite file, or PostgreSQL with :class:`tests.db.support.PostgresBackend`),
``self.clock`` (a Clock at T0), ``self.fakes`` (the real drivers manager
over fake handlers, see tests.aggregate.fakes) and helpers to write
request RSpecs and call the delegate.
"""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from xml.sax.saxutils import quoteattr

from twisted.internet import defer, reactor, task

from gam.aggregate.delegate import Aggregate
from gam.auth.urn import URN
from gam.config import Limits
from gam.db.connector import DBConnector
from gam.inventory import Inventory

from tests.aggregate.fakes import Fakes

UTC = timezone.utc
T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
AM_URN = "urn:publicid:IDN+gam.localhost+authority+am"
CM = "urn:publicid:IDN+gam.localhost+authority+cm"
URL = "https://am.gam.test:12346/am/3.0"
ALICE = "urn:publicid:IDN+gam.test+user+alice"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGamTestKeyGamTestKeyGamTestKey alice@laptop"
V3 = {"type": "GENI", "version": "3"}


def slice_urn(name="myslice"):
    return URN("gam.test", "slice", name)


def node_urn(name):
    return f"urn:publicid:IDN+gam.localhost+node+{name}"


def node(client_id, *, host=None, sliver_type=None, exclusive=None, image=None,
         interfaces=(), cm=CM, cores=None, hardware=None):
    """A request <node>; ``interfaces`` are (client_id, ip or None) pairs."""
    attrs = f"client_id={quoteattr(client_id)}"
    if cm:
        attrs += f" component_manager_id={quoteattr(cm)}"
    if host:
        attrs += f" component_id={quoteattr(node_urn(host) if ':' not in host else host)}"
    if exclusive is not None:
        attrs += f' exclusive="{str(exclusive).lower()}"'
    body = ""
    if sliver_type or image or cores:
        inner = f"<disk_image name={quoteattr(image)}/>" if image else ""
        if cores:
            inner += f'<emulab:xen cores="{cores}" ram="512"/>'
        body += f"<sliver_type name={quoteattr(sliver_type or 'default-vm')}>{inner}</sliver_type>"
    if hardware:
        body += f"<hardware_type name={quoteattr(hardware)}/>"
    for iface, ip in interfaces:
        ip_xml = f'<ip address="{ip}" netmask="255.255.255.0" type="ipv4"/>' if ip else ""
        body += f"<interface client_id={quoteattr(iface)}>{ip_xml}</interface>"
    return f"<node {attrs}>{body}</node>"


def link(client_id, *refs, capacity=None, latency=None, link_type="lan"):
    body = "".join(f"<interface_ref client_id={quoteattr(r)}/>" for r in refs)
    if capacity is not None or latency is not None:
        extra = ""
        if capacity is not None:
            extra += f' capacity="{capacity}"'
        if latency is not None:
            extra += f' latency="{latency}"'
        body += f'<property source_id="{refs[0]}" dest_id="{refs[1]}"{extra}/>'
    if link_type:
        body += f'<link_type name="{link_type}"/>'
    return f"<link client_id={quoteattr(client_id)}>{body}</link>"


def rspec(*elements):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rspec xmlns="http://www.geni.net/resources/rspec/3" '
            'xmlns:emulab="http://www.protogeni.net/resources/rspec/ext/emulab/1" '
            'type="request">\n' + "\n".join(elements) + "\n</rspec>\n")


def auth(expires=None, caller=ALICE):
    """What the endpoint hands the delegate: the caller and the credential's end."""
    return SimpleNamespace(caller=SimpleNamespace(urn=URN.parse(caller)),
                           expires=expires or T0 + timedelta(days=1))


def users(*names):
    return [{"urn": f"urn:publicid:IDN+gam.test+user+{n}", "keys": [SSH_KEY]} for n in names]


class AggregateMixin:
    """Mix into a trial TestCase together with a backend mixin (db_url)."""

    inventory = Inventory.default()
    limits = Limits()
    pool_size = 4

    @defer.inlineCallbacks
    def setUp(self):
        super().setUp()
        self.clock = task.Clock()
        self.clock.advance(T0.timestamp())
        self.db = DBConnector(self.db_url(), reactor, pool_size=self.pool_size)
        yield self.db.start()
        self.addCleanup(self.db.stop)
        self.fakes = Fakes(self.clock, reactor)
        yield self.fakes.drivers.start()
        self.addCleanup(self.fakes.drivers.stop)
        self.am = self.make_aggregate()
        self.addCleanup(self._settle_at_end)
        yield defer.Deferred.fromCoroutine(self.am.start())

    def _settle_at_end(self):
        self.fakes.release()
        return self.settle()

    def make_aggregate(self, drivers=None):
        return Aggregate(self.db, drivers or self.fakes.drivers, self.inventory, am_urn=AM_URN,
                         url=URL, limits=self.limits, clock=self.clock, reactor=reactor)

    def now(self):
        return datetime.fromtimestamp(self.clock.seconds(), UTC)

    def advance(self, delta):
        self.clock.advance(delta.total_seconds() if isinstance(delta, timedelta) else delta)

    def call(self, method, *args):
        """Call a delegate method (a coroutine) as a Deferred."""
        return defer.Deferred.fromCoroutine(getattr(self.am, method)(*args))

    @defer.inlineCallbacks
    def allocate(self, *elements, name="myslice", options=None, expires=None):
        result = yield self.call("allocate", auth(expires), slice_urn(name),
                                 rspec(*elements), dict(options or {}))
        return result

    @defer.inlineCallbacks
    def settle(self):
        yield defer.Deferred.fromCoroutine(self.am.settle())

    def written(self):
        """Wait until what the drivers reported so far is in the database."""
        return defer.Deferred.fromCoroutine(self.am.gateway.written())

    @defer.inlineCallbacks
    def status(self, name="myslice", slivers=None):
        result = yield self.call("status", auth(), slice_urn(name), slivers, {})
        return {s["geni_sliver_urn"]: s for s in result["geni_slivers"]}

    def failure_of(self, d):
        """Fires with the exception ``d`` fails with (fails the test if it succeeds)."""
        def ok(result):
            self.fail(f"expected an error, got {result!r}")
        return d.addCallbacks(ok, lambda f: f.value)
