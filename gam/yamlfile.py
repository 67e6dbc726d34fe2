"""Reading YAML configuration files, with errors that name the file and the line."""
import os

import yaml

from gam.errors import ConfigError


def read_yaml(path, *, missing=None):
    """The document in the YAML file ``path`` (None for an empty file).

    ``missing``, when given, is what to tell the operator if the file does
    not exist (else the OS error is reported as for any unreadable file).
    Raises ConfigError naming the file, and the line for a syntax error.
    """
    if missing is not None and not os.path.isfile(path):
        raise ConfigError(f"the configuration file does not exist; {missing}", path=path)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"is not valid YAML{line}: {getattr(e, 'problem', None) or e}",
                          path=path) from None
    except OSError as e:
        raise ConfigError(f"cannot read it: {e.strerror}", path=path) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"cannot read it: not UTF-8 text ({e.reason})", path=path) from None
