"""Where a quickstart keeps everything: one state directory.

::

    <dir>/
      quickstart.pid        the running quickstart's pid (locked while it runs)
      summary.json          what the last start printed (URLs, files), for tools
      gam.db                the SQLite database of the AM and the registry
      quickstart.log        the log of every start
      etc/gam.yaml          the AM's configuration (also works with 'gam am -c')
      etc/registry.yaml     the registry's configuration ('gam registry -c')
      etc/drivers/netns.yaml  the namespace driver
      am/keys/am.pem, am.key        the AM's certificate (issued by the root) and key
      am/trusted_roots/<root>.pem   the AM's trust roots: the registry's root
      registry/             the registry's keys and its root certificate
      netns/                the namespace driver's node folders
      experimenter/         certificates, keys, credentials, omni_config, context.json

The configuration files are written again at every start from the
command line; keys, certificates, credentials and the database are reused.
"""
import os
from dataclasses import dataclass

DEFAULT_DIR = "/var/lib/gam/quickstart"


@dataclass(frozen=True)
class Layout:
    root: str

    @classmethod
    def at(cls, directory=None):
        return cls(os.path.abspath(os.path.expanduser(directory or DEFAULT_DIR)))

    def _p(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def pid_file(self):
        return self._p("quickstart.pid")

    @property
    def summary_file(self):
        return self._p("summary.json")

    @property
    def log_file(self):
        return self._p("quickstart.log")

    @property
    def database(self):
        return self._p("gam.db")

    @property
    def database_url(self):
        return "sqlite:///" + self.database

    @property
    def etc(self):
        return self._p("etc")

    @property
    def am_config(self):
        return self._p("etc", "gam.yaml")

    @property
    def registry_config(self):
        return self._p("etc", "registry.yaml")

    @property
    def drivers_dir(self):
        return self._p("etc", "drivers")

    @property
    def am_dir(self):
        return self._p("am")

    @property
    def am_cert(self):
        return self._p("am", "keys", "am.pem")

    @property
    def am_key(self):
        return self._p("am", "keys", "am.key")

    @property
    def trust_roots(self):
        return self._p("am", "trusted_roots")

    def trust_root(self, namespace):
        return os.path.join(self.trust_roots, namespace.lower().replace(":", "+") + ".pem")

    @property
    def registry_dir(self):
        return self._p("registry")

    @property
    def netns_dir(self):
        return self._p("netns")

    @property
    def experimenter_dir(self):
        return self._p("experimenter")

    def experimenter_file(self, name):
        return self._p("experimenter", name)

    def prepare(self):
        """Create the directories; the private ones with mode 0700."""
        os.makedirs(self.root, exist_ok=True)
        for public in (self.etc, self.drivers_dir, self.am_dir, self.trust_roots):
            os.makedirs(public, exist_ok=True)
        for private in (os.path.dirname(self.am_key), self.registry_dir,
                        self.experimenter_dir):
            os.makedirs(private, mode=0o700, exist_ok=True)
            os.chmod(private, 0o700)


__all__ = ["Layout", "DEFAULT_DIR"]
