"""Which configuration an operator command reads: ``-c FILE`` or ``--dir DIR``.

``--dir`` names a quickstart state directory (its ``etc/gam.yaml`` and
``etc/registry.yaml``). With neither, the first that applies of: the
quickstart running in the default directory, ``/etc/gam/`` (an installed
service), the default quickstart directory, and ``etc/`` here; so ``gam
status`` needs no argument after ``gam quickstart``, even when run from a
checkout whose ``etc/`` holds the example files.
"""
import os

from gam.errors import ConfigError
from gam.quickstart.layout import DEFAULT_DIR, Layout
from gam.quickstart.pidfile import running_pid

AM_CANDIDATES = ("/etc/gam/gam.yaml",)
REGISTRY_CANDIDATES = ("/etc/gam/registry.yaml",)
LOCAL_AM = "etc/gam.yaml"
LOCAL_REGISTRY = "etc/registry.yaml"


def _candidates(installed, local, name):
    quickstart = Layout.at(DEFAULT_DIR)
    found = []
    if running_pid(quickstart.pid_file) is not None:
        found.append(getattr(quickstart, name))
    found += list(installed) + [getattr(quickstart, name), local]
    return found


def am_config_path(config=None, directory=None):
    """The AM configuration file to read; ConfigError when there is none."""
    if config:
        return config
    if directory:
        return Layout.at(directory).am_config
    candidates = _candidates(AM_CANDIDATES, LOCAL_AM, "am_config")
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise ConfigError("no AM configuration found (looked at "
                      + ", ".join(dict.fromkeys(candidates))
                      + "); pass -c with the AM's gam.yaml, or --dir with a quickstart's "
                        "state directory")


def registry_config_path(config=None, directory=None):
    """The registry configuration file, or None when there is none to read."""
    if config:
        return config
    if directory:
        return Layout.at(directory).registry_config
    env = os.environ.get("GAM_REGISTRY_CONFIG")
    if env:
        return env
    for candidate in _candidates(REGISTRY_CANDIDATES, LOCAL_REGISTRY, "registry_config"):
        if os.path.isfile(candidate):
            return candidate
    return None


__all__ = ["am_config_path", "registry_config_path"]
