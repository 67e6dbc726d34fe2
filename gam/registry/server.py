"""The registry as a running service: manager, XML-RPC site, TLS listener.

    service = RegistryService(settings)
    await service.start()          # DB migrated, root authority ready, listening
    ...
    await service.stop()

TLS requires a client certificate chaining to the trust roots (this
registry's root and ``trust_roots_dir``); the server presents the
registry's own certificate (``...+authority+registry``, issued by the root).
The site serves ``settings.path`` and also ``/`` and ``/RPC2``.
"""
from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from gam.rpc import tls
from gam.rpc.site import ALIASES, build_site
from gam.registry.api import RegistryAPI
from gam.registry.manager import RegistryManager
from gam.rpc.envelope import FaultEnvelope
from gam.rpc.xmlrpc import XMLRPCResource

log = Logger(namespace="gam.registry")


def registry_site(manager, *, path="/registry", aliases=ALIASES, clock=None, **site_options):
    """A GamSite serving the registry's SFA methods."""
    resource = XMLRPCResource(RegistryAPI(manager), envelope=FaultEnvelope(), clock=clock)
    return build_site(resource, path=path, aliases=aliases, **site_options)


def registry_tls_options(manager):
    return tls.server_options(manager.server_chain, manager.server_key, manager.trust_roots)


class RegistryService(service.Service):
    """Starts the manager, then listens; stops listening, then the manager."""

    name = "registry"

    def __init__(self, settings, *, reactor=None, manager=None, **manager_options):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings
        self._reactor = reactor
        self.manager = manager or RegistryManager(settings, reactor=reactor, **manager_options)
        self.site = None
        self.port = None

    async def start(self):
        await self.manager.start()
        try:
            self.site = registry_site(self.manager, path=self.settings.path,
                                      max_body=self.settings.max_body_bytes)
            self.port = tls.listen(self._reactor, self.site, self.settings.host,
                                   self.settings.port, registry_tls_options(self.manager))
        except BaseException:
            await self.manager.stop()
            raise
        address = self.port.getHost()
        log.info("registry of {authority} listening on https://{host}:{port}{path}",
                 authority=self.manager.root.urn.hrn, host=address.host, port=address.port,
                 path=self.settings.path)

    async def stop(self):
        port, self.port = self.port, None
        if port is not None:
            await defer.maybeDeferred(port.stopListening)
        await self.manager.stop()

    def startService(self):
        super().startService()
        return defer.ensureDeferred(self.start())

    def stopService(self):
        super().stopService()
        return defer.ensureDeferred(self.stop())


__all__ = ["RegistryService", "registry_site", "registry_tls_options"]
