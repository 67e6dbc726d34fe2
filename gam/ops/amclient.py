"""A small AM API v3 client over TLS, as an experimenter's tool talks to the AM.

Standard library only (``xmlrpc.client`` over an ``ssl`` context with the
experimenter's certificate chain and key); blocking, for command-line use
outside any reactor::

    am = AMClient(url, cert="alice.pem", key="alice.key", trust_root="gam.pem")
    value = am.call("Status", [slice_urn], [am.credential(xml)], {})

:meth:`call` returns the envelope's ``value`` and raises :class:`AMCallError`
(with the ``geni_code`` and the AM's ``output``) for any other code.
"""
import ssl
import xmlrpc.client

DEFAULT_TIMEOUT = 60.0


class AMCallError(Exception):
    def __init__(self, method, code, output):
        super().__init__(f"{method} failed with geni_code {code}: {output}")
        self.method = method
        self.code = code
        self.output = output


def credential_struct(xml):
    """The ``{geni_type, geni_version, geni_value}`` struct of a geni_sfa credential."""
    return {"geni_type": "geni_sfa", "geni_version": "3", "geni_value": xml}


def tls_context(cert, key, trust_root=None):
    """A client context presenting ``cert`` (chain) and ``key``; the AM's
    certificate is checked against ``trust_root`` when given (names are not:
    GENI certificates carry URNs, not host names)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if trust_root:
        ctx.load_verify_locations(cafile=trust_root)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    return ctx


class _Transport(xmlrpc.client.SafeTransport):
    def __init__(self, context, timeout):
        super().__init__(context=context)
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class AMClient:
    def __init__(self, url, *, cert, key, trust_root=None, timeout=DEFAULT_TIMEOUT):
        self.url = url
        self.checks_server = bool(trust_root)
        self._context = tls_context(cert, key, trust_root)
        self._timeout = timeout

    def envelope(self, method, *params):
        """The whole envelope of one call."""
        proxy = xmlrpc.client.ServerProxy(self.url, allow_none=False,
                                          transport=_Transport(self._context, self._timeout))
        try:
            return getattr(proxy, method)(*params)
        finally:
            proxy("close")()

    def call(self, method, *params):
        """The value of one call; AMCallError unless geni_code is 0."""
        answer = self.envelope(method, *params)
        code = answer.get("code", {}).get("geni_code")
        if code != 0:
            raise AMCallError(method, code, answer.get("output", ""))
        return answer.get("value")

    @staticmethod
    def credential(xml):
        return credential_struct(xml)


__all__ = ["AMClient", "AMCallError", "credential_struct", "tls_context"]
