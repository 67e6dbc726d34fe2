"""The AM as a Twisted service: database, drivers, aggregate + expiry, RPC server.

:class:`AMService` checks everything it can before anything starts (TLS
files and trust roots are read in the constructor, raising ConfigError),
then starts, in order and each only once the previous is up: the database
(migrated to the newest schema), the drivers manager, the aggregate
(resources defined from the inventory, recovery after a restart) with its
expiry loop, and last the TLS listener, so no call arrives before the AM
can answer it. Stopping goes the other way: stop listening and close the
connections, stop the expiry loop, let running driver work finish (for a
while), stop the drivers, then the database.
"""
import os

import sqlalchemy.exc
from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from gam.aggregate.delegate import Aggregate
from gam.aggregate.expiry import Expirer
from gam.auth.authorize import Authorizer
from gam.auth.trust import TrustRoots
from gam.db.connector import DBConnector
from gam.errors import ConfigError
from gam.rpc import tls
from gam.rpc.am import am_site_with_v2
from gam.rpc.connections import TrackedConnections

log = Logger(namespace="gam.aggregate")

#: How long a stop waits for driver work under way before going on.
SETTLE_TIMEOUT = 30.0


class DriversUnavailable(RuntimeError):
    """The drivers manager cannot be loaded: the AM must not start without it."""


def load_drivers(config, reactor):
    """The drivers manager configured by the YAML files in ``drivers.config_dir``.

    Raises ConfigError for a wrong driver configuration and
    DriversUnavailable when gam.drivers.manager cannot be loaded: gam never
    falls back to a fake driver.
    """
    try:
        from gam.drivers.manager import Drivers
    except ImportError as e:
        raise DriversUnavailable(
            f"the drivers manager (gam.drivers.manager) cannot be loaded ({e}); this "
            "installation cannot provision anything, so the AM does not start. Install a "
            "gam with its drivers") from None
    return Drivers.from_files([config.drivers_dir], reactor=reactor)


class AMService(service.Service):
    """The whole AM. ``drivers``: the drivers manager (a Service or not).

    ``reactor`` runs it; ``clock`` (default: the reactor) is the aggregate's
    time source. ``authorizer`` and ``tls_options`` override what the
    configuration's trust roots and certificate give (tests).
    """

    name = "am"

    def __init__(self, config, drivers, *, reactor=None, clock=None, authorizer=None,
                 tls_options=None):
        if reactor is None:
            from twisted.internet import reactor
        self.config = config
        self.reactor = reactor
        self.drivers = drivers
        if tls_options is None:
            tls_options = tls.server_options_from_files(config.certificate, config.key,
                                                        config.trust_roots)
        if authorizer is None:
            authorizer = Authorizer(TrustRoots.from_directory(config.trust_roots))
        self.tls_options = tls_options
        self.authorizer = authorizer
        self.db = DBConnector(config.database_url, reactor, pool_size=config.db_pool_size)
        self.aggregate = Aggregate(
            self.db, drivers, config.inventory, am_urn=config.am_urn,
            url=config.url_for_port(config.port), limits=config.limits,
            clock=clock if clock is not None else reactor, reactor=reactor)
        self.expirer = Expirer(self.aggregate, clock if clock is not None else reactor,
                               config.limits.expiry_interval)
        self.site = am_site_with_v2(self.aggregate, authorizer, path=config.rpc_path,
                                    max_body=config.limits.max_request_bytes)
        self.factory = TrackedConnections(self.site)
        self.port = None
        self.ready = None
        self._started = []

    @property
    def port_number(self):
        return self.port.getHost().port if self.port is not None else None

    async def start(self):
        """Start every part in order; on a failure, stop what had started."""
        try:
            try:
                os.makedirs(self.config.state_dir, exist_ok=True)
            except OSError as e:
                raise ConfigError(f"cannot create the state directory "
                                  f"{self.config.state_dir}: {e.strerror}",
                                  path=self.config.path, key="am.state_dir") from None
            try:
                await self.db.start()
            except sqlalchemy.exc.SQLAlchemyError as e:
                raise ConfigError(f"cannot open the database: {e.orig or e}; check the URL, "
                                  "that the server runs and the directory is writable",
                                  path=self.config.path, key="database.url") from None
            self._started.append(self.db.stop)
            if service.IService.providedBy(self.drivers):
                await defer.maybeDeferred(self.drivers.startService)
                self._started.append(lambda: defer.maybeDeferred(self.drivers.stopService))
            await self.aggregate.start()
            self.expirer.start()
            self._started.append(self._stop_aggregate)
            self.authorizer.start(self.reactor)
            self._started.append(self._stop_authorizer)
            self.port = tls.listen(self.reactor, self.factory, self.config.host,
                                   self.config.port, self.tls_options)
            self._started.append(self._stop_listening)
            self.aggregate.url = self.config.url_for_port(self.port_number)
        except Exception:
            await self.stop()
            raise
        log.info("gam AM listening on {host}:{port}, GetVersion URL {url}",
                 host=self.config.host, port=self.port_number, url=self.aggregate.url)

    async def stop(self):
        """Stop what was started, last first."""
        while self._started:
            step = self._started.pop()
            try:
                await step()
            except Exception:
                log.failure("stopping the AM: a step failed")

    async def _stop_authorizer(self):
        self.authorizer.stop()

    async def _stop_listening(self):
        port, self.port = self.port, None
        await defer.maybeDeferred(port.stopListening)
        await self.factory.close_all()

    async def _stop_aggregate(self):
        await self.expirer.stop()
        settle = defer.Deferred.fromCoroutine(self.aggregate.settle())
        settle.addTimeout(SETTLE_TIMEOUT, self.reactor)
        try:
            await settle
        except defer.TimeoutError:
            log.warn("driver work still under way after {s} s; stopping anyway",
                     s=SETTLE_TIMEOUT)

    # twisted.application.service.IService
    def startService(self):
        super().startService()
        self.ready = defer.Deferred.fromCoroutine(self.start())
        return self.ready

    def stopService(self):
        super().stopService()
        return defer.Deferred.fromCoroutine(self.stop())


__all__ = ["AMService", "DriversUnavailable", "load_drivers"]
