"""The running quickstart: the registry and the AM in one process, one reactor.

:class:`Quickstart` ``start()`` goes, each step only once the previous is
done: write the configuration files; start the registry (database migrated,
root authority made or loaded, listening); make or reuse the AM's
certificate (issued by the registry's root) and put the root in the AM's
trust roots; start the AM (its drivers, recovery of the slivers of an
earlier run, listening); make or reuse the experimenter; write the client
files and ``summary.json``. ``stop()`` stops the AM, then the registry.

Stopping leaves the slivers as they are: nodes keep running (the namespace
driver's nodes and their login forwarders outlive the AM), and the next
start takes them back through the AM's recovery (a node found gone is
marked geni_failed, expired slivers are freed by the expiry loop). Delete
the slices first to leave nothing behind.
"""
import json
import os

from twisted.logger import Logger

from gam.aggregate.service import AMService, load_drivers
from gam.config import load_config
from gam.ops.views import thd_live_count
from gam.quickstart import configs
from gam.quickstart.clientfiles import write_client_files
from gam.quickstart.identities import ensure_am_identity, ensure_experimenter
from gam.registry.authorities import KeyStore, write_public_file
from gam.registry.config import load_settings
from gam.registry.server import RegistryService

log = Logger(namespace="gam.quickstart")


class Quickstart:
    """Start and stop a quickstart of ``options`` (a :class:`configs.Options`)."""

    def __init__(self, options, *, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.options = options
        self.layout = options.layout
        self.reactor = reactor
        self.registry = None
        self.am = None
        self.summary = None

    async def start(self):
        """Start everything; a dict of what is where (also in summary.json)."""
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self):
        options, layout = self.options, self.layout
        layout.prepare()
        configs.write_configs(options)
        settings = load_settings(layout.registry_config)
        notes = {"authority": "reused" if KeyStore(settings.state_dir).has_key(
            settings.authority) else "created"}
        self.registry = RegistryService(settings, reactor=self.reactor)
        await self.registry.start()
        registry_port = self.registry.port.getHost().port
        registry_url = options.url(registry_port, configs.REGISTRY_PATH)
        manager = self.registry.manager
        am_urn = options.am_urn
        notes["AM certificate"] = await ensure_am_identity(manager, layout, am_urn)

        config = load_config(layout.am_config)
        self.am = AMService(config, load_drivers(config, self.reactor), reactor=self.reactor)
        await self.am.start()
        am_url = options.url(self.am.port_number, configs.AM_PATH)
        self.am.aggregate.url = am_url

        ex = await ensure_experimenter(manager, layout, user=options.user,
                                       slice_name=options.slice)
        user_record = await manager.get(ex.user_urn)
        files = write_client_files(layout, ex, user_record, registry_url=registry_url,
                                   am_urn=am_urn, am_url=am_url,
                                   component_manager_id=config.inventory.component_manager_id,
                                   slice_name=options.slice)
        notes.update(ex.notes)
        self.summary = {
            "directory": layout.root,
            "pid": os.getpid(),
            "am_url": am_url,
            "am_urn": am_urn,
            "am_port": self.am.port_number,
            "registry_url": registry_url,
            "registry_port": registry_port,
            "authority": manager.root.authority,
            "authority_urn": str(manager.root.urn),
            "trust_root": layout.trust_root(manager.root.authority),
            "trust_roots_dir": layout.trust_roots,
            "database": layout.database,
            "am_config": layout.am_config,
            "registry_config": layout.registry_config,
            "log": layout.log_file,
            "prefix": options.prefix,
            "netns_dir": layout.netns_dir,
            "inventory": configs.inventory_text(),
            "component_manager_id": config.inventory.component_manager_id,
            "experimenter": {
                "user": options.user,
                "user_urn": ex.user_urn,
                "user_hrn": ex.user_hrn,
                "cert": ex.cert,
                "key": ex.key,
                "ssh_key": ex.ssh_key,
                "ssh_public_key": ex.ssh_public_key,
                "user_credential": ex.user_credential,
                "slice_name": options.slice,
                "slice_urn": ex.slice_urn,
                "slice_expires": ex.slice_expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "slice_credential": ex.slice_credential,
                "omni_config": files["omni_config"],
                "context": files["context"],
                "geni_lib_dir": files["geni-lib"],
                "rspec": files["rspec"],
            },
            "notes": notes,
        }
        write_public_file(layout.summary_file, json.dumps(self.summary, indent=2) + "\n")
        log.info("quickstart ready: AM {am}, registry {registry}", am=am_url,
                 registry=registry_url)
        return self.summary

    async def stop(self):
        """Stop the AM, then the registry; ``(live slivers, slices)`` left, or None."""
        left = None
        am, self.am = self.am, None
        if am is not None:
            try:
                if am.db.started:
                    left = await am.db.read(thd_live_count)
            except Exception:
                log.failure("counting the live slivers")
            await am.stop()
        registry, self.registry = self.registry, None
        if registry is not None:
            await registry.stop()
        return left


__all__ = ["Quickstart"]
