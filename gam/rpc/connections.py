"""Listening with a record of open connections, so a server can close them on stop."""
from twisted.internet import defer
from twisted.internet.interfaces import IProtocolNegotiationFactory
from twisted.protocols import policies
from zope.interface import implementer


@implementer(IProtocolNegotiationFactory)
class TrackedConnections(policies.WrappingFactory):
    """Wraps a Site; ``close_all()`` aborts every open connection and fires
    when the last one is gone."""

    noisy = False

    def __init__(self, wrapped):
        super().__init__(wrapped)
        self._idle = []

    def acceptableProtocols(self):
        """The wrapped Site's ALPN protocols. Twisted's TLS asks the listening
        factory; without them it fails the handshake of every client that
        offers ALPN (requests/urllib3 2 as geni-lib uses it, curl, Java)."""
        return IProtocolNegotiationFactory(self.wrappedFactory).acceptableProtocols()

    def unregisterProtocol(self, p):
        super().unregisterProtocol(p)
        if not self.protocols:
            waiters, self._idle = self._idle, []
            for d in waiters:
                d.callback(None)

    def close_all(self):
        if not self.protocols:
            return defer.succeed(None)
        d = defer.Deferred()
        self._idle.append(d)
        for p in list(self.protocols):
            p.transport.abortConnection()
        return d


__all__ = ["TrackedConnections"]
