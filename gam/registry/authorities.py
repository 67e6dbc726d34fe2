"""The authority hierarchy's private keys, on disk under the state directory.

Each authority's key lives in ``<state_dir>/keys/<namespace>.key`` (mode
0600, directory 0700; ``:`` in the namespace becomes ``+``); its
certificate chain lives in the database (the record's ``gid``), and the
root's chain is also written to ``<state_dir>/<root>.pem`` for operators
to hand out as a trust root. The registry's TLS identity (a CA:FALSE
certificate ``...+authority+registry`` issued by the root) is kept beside it.
"""
import os

from cryptography.hazmat.primitives import serialization

from gam.auth.gid import GID, Authority, key_to_pem, load_key_pem, load_pem_chain
from gam.errors import ConfigError
from gam.files import write_atomically


def write_private_file(path, text):
    """Write ``text`` to ``path`` atomically with mode 0600."""
    write_atomically(path, text, 0o600)


def write_public_file(path, text):
    write_atomically(path, text, 0o644)


def chain_from_pem(pem):
    return tuple(GID(c) for c in load_pem_chain(pem))


class KeyStore:
    """Private keys of the registry's authorities, one file each."""

    def __init__(self, state_dir):
        self.state_dir = os.path.abspath(state_dir)
        self.keys_dir = os.path.join(self.state_dir, "keys")

    def prepare(self):
        """Create the state and keys directories (the keys one with mode 0700)."""
        os.makedirs(self.state_dir, exist_ok=True)
        os.makedirs(self.keys_dir, mode=0o700, exist_ok=True)
        os.chmod(self.keys_dir, 0o700)

    def key_path(self, namespace):
        return os.path.join(self.keys_dir, namespace.lower().replace(":", "+") + ".key")

    def has_key(self, namespace):
        return os.path.exists(self.key_path(namespace))

    def write_key(self, namespace, key):
        write_private_file(self.key_path(namespace), key_to_pem(key))

    def load_key(self, namespace):
        path = self.key_path(namespace)
        if not os.path.exists(path):
            raise ConfigError(f"the private key of authority {namespace} is missing; restore "
                              "it from a backup (the registry cannot sign for this authority "
                              "without it)", path=path)
        mode = os.stat(path).st_mode & 0o077
        if mode:
            raise ConfigError("the key file is readable by other users; run chmod 600 on it",
                              path=path)
        with open(path, "rb") as f:
            return load_key_pem(f.read())

    # The root's published chain and the TLS identity.

    def root_pem_path(self, namespace):
        return os.path.join(self.state_dir, namespace.lower().replace(":", "+") + ".pem")

    def write_root_pem(self, namespace, chain_pem):
        write_public_file(self.root_pem_path(namespace), chain_pem)

    @property
    def server_cert_path(self):
        return os.path.join(self.state_dir, "registry-server.pem")

    @property
    def server_key_path(self):
        return os.path.join(self.state_dir, "registry-server.key")

    def write_server_identity(self, key, chain):
        write_private_file(self.server_key_path, key_to_pem(key))
        write_public_file(self.server_cert_path, "".join(g.pem for g in chain))

    def load_server_identity(self):
        """``(key, chain)`` of the TLS identity, or None when not made yet."""
        if not (os.path.exists(self.server_cert_path) and os.path.exists(self.server_key_path)):
            return None
        with open(self.server_key_path, "rb") as f:
            key = load_key_pem(f.read())
        with open(self.server_cert_path, "rb") as f:
            chain = chain_from_pem(f.read())
        return key, chain


class AuthorityCache:
    """Loaded :class:`~gam.auth.gid.Authority` objects by namespace.

    :meth:`cached` is cheap (reactor side); :meth:`load` reads and parses
    the key file (thread side).
    """

    def __init__(self, keystore):
        self.keystore = keystore
        self._by_namespace = {}     # namespace -> (gid PEM chain, Authority)

    def cached(self, record):
        """The Authority of an authority record if loaded and current, else None."""
        found = self._by_namespace.get(record.namespace)
        if found is not None and found[0] == record.gid:
            return found[1]
        return None

    def load(self, record):
        """The Authority of an authority record: key from disk, chain from the DB."""
        namespace = record.namespace
        authority = Authority(self.keystore.load_key(namespace), chain_from_pem(record.gid))
        if public_key_der(authority.key.public_key()) != authority.gid.public_key_der:
            raise ConfigError(f"the key of authority {namespace} does not match its "
                              "certificate in the database",
                              path=self.keystore.key_path(namespace))
        self._by_namespace[namespace] = (record.gid, authority)
        return authority

    def get(self, record):
        return self.cached(record) or self.load(record)

    def forget(self, namespace):
        self._by_namespace.pop(namespace.lower(), None)


def public_key_der(public_key):
    """SubjectPublicKeyInfo DER of a public key (compare with ``GID.public_key_der``)."""
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


__all__ = ["KeyStore", "AuthorityCache", "chain_from_pem", "public_key_der", "write_private_file",
           "write_public_file"]
