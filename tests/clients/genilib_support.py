"""geni-lib (PyPI ``geni-lib``) pointed at a gam that the test started.

geni-lib keeps what a user has in a ``Context``: a *framework* object (the
clearinghouse: it holds the user's certificate and key and hands out user
and slice credentials, which the context caches as files in its data
directory), the users with their SSH public keys, and a project name.
``geni.util.loadContext`` builds one from a JSON file; here one is built in
code (:func:`build_context`) with :class:`PKIClearinghouse` as the
framework: it issues the test PKI's credentials, so geni-lib fetches,
caches and reads them through its own code and never contacts a real
clearinghouse.

:func:`v2_aggregate` is geni-lib's AM object for gam's AM API v2 endpoint
(``amapiv2`` calls, the generic ``opengeni`` manifest/advertisement parser).

geni-lib does not verify the aggregate's certificate: every call passes
``verify=False`` to requests (``root_bundle`` is hard-wired to False in
``geni.aggregate.apis``). That is the client's business; the AM side still
requires and checks the client's certificate chain.

``GENILIB_MISSING`` is None when geni-lib imports, else the reason to skip.
"""
import datetime
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

try:
    # geni.aggregate registers the APIs (amapiv2, amapiv3) and AM types by name
    from geni.aggregate.context import Context
    from geni.aggregate.core import AM
    from geni.aggregate.frameworks import Framework
    from geni.aggregate.user import User
except ImportError as e:      # not installed, or pkg_resources / six missing
    GENILIB_MISSING = (f"geni-lib cannot be imported ({e}); install it with "
                       "pip install 'geni-lib>=0.9.9.4,<0.10' 'six>=1.16' 'setuptools<82'")
    Framework = object
else:
    GENILIB_MISSING = None

#: geni-lib fetches a new slice credential when the one it has ends within
#: 3 days, and a user credential within 5 minutes: give both a week.
CREDENTIAL_LIFETIME = datetime.timedelta(days=7)
PROJECT = "gamtest"


class PKIClearinghouse(Framework):
    """A geni-lib framework whose credentials come from the test PKI.

    ``fetched`` lists what geni-lib asked for: ``("user", urn)`` and
    ``("slice", name)``.
    """

    def __init__(self, pki, owner, name="gamtest"):
        super().__init__(name)
        self._type = name
        self.pki = pki
        self.owner = owner
        self.fetched = []

    def getUserCredentials(self, owner_urn):  # noqa: N802  (geni-lib's name)
        self.fetched.append(("user", owner_urn))
        return self.pki.user_credential(self.owner, lifetime=CREDENTIAL_LIFETIME).encode()

    def getSliceCredentials(self, context, slicename):  # noqa: N802
        self.fetched.append(("slice", slicename))
        return self.pki.slice_credential(self.owner, slicename,
                                         lifetime=CREDENTIAL_LIFETIME).encode()


def ssh_keypair(directory, name):
    """A new ed25519 key pair: ``(private key PEM path, public key path, public key line)``."""
    key = ed25519.Ed25519PrivateKey.generate()
    private_path = os.path.join(directory, name)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.OpenSSH,
                                  serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    public += f" {name}@gam-test"
    with open(private_path + ".pub", "w") as f:
        f.write(public + "\n")
    return private_path, private_path + ".pub", public


def build_context(directory, pki, identity, ssh_public_key_path):
    """A geni-lib Context for ``identity`` (a tests.pki.Identity) under ``directory``.

    The certificate file is the user's chain (leaf, then its authorities) as
    gam's TLS server needs it; credentials are cached in
    ``<directory>/genilib-data``.
    """
    name = identity.urn.name
    cert_path, key_path = identity.write(directory, f"genilib-{name}")
    framework = PKIClearinghouse(pki, identity)
    framework.cert = cert_path
    framework.key = key_path
    user = User()
    user.name = name
    user.urn = str(identity.urn)
    user.addKey(ssh_public_key_path)
    context = Context()
    context.datadir = os.path.join(directory, "genilib-data")
    context.addUser(user)
    context.cf = framework
    context.project = PROJECT
    return context


def v2_aggregate(url, cmid, name="gam", amtype="opengeni"):
    """geni-lib's AM object for gam's AM API v2 ``url`` (``.../am/2.0``);
    ``amtype`` "pg" is what geni-lib's ProtoGENI/InstaGENI classes use."""
    return AM(name, url, "amapiv2", amtype, cmid)
