"""The twisted.web Site of gam's servers: body cap, paths, idle timeout.

Request bodies are capped while they are read (:class:`CappedRequest`): a
Content-Length over the cap is refused before any byte is stored, and a
body without one (chunked) is counted as it arrives. A refused body is
read and dropped, never stored, and answered with 413 once the client has
sent it (so that clients, which send the whole body before reading, see
the answer); past ``discard_limit`` more bytes the connection is cut.
"""
import io

from twisted.web import resource, server

DEFAULT_MAX_BODY = 4 * 1024 * 1024
DEFAULT_DISCARD_LIMIT = 16 * 1024 * 1024
DEFAULT_IDLE_TIMEOUT = 120
DEFAULT_PATH = "/am/3.0"
ALIASES = ("/", "/RPC2")

_TOO_BIG_STATUS = b"HTTP/1.1 413 Request Entity Too Large\r\n"


class CappedRequest(server.Request):
    """A Request that never stores more than its site's ``max_body`` bytes."""

    _refused = False
    _cut = False
    _received = 0
    _discarded = 0

    def _limits(self):
        site = getattr(self.channel, "site", None)
        return (getattr(site, "max_body", DEFAULT_MAX_BODY),
                getattr(site, "discard_limit", DEFAULT_DISCARD_LIMIT))

    def gotLength(self, length):
        max_body, discard_limit = self._limits()
        if length is not None and length > max_body:
            self._refuse()
            if length > max_body + discard_limit:
                self._cut_connection()
            return
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self._refused:
            self._discarded += len(data)
            max_body, discard_limit = self._limits()
            if self._discarded > discard_limit and not self._cut:
                self._cut_connection()
            return
        self._received += len(data)
        if self._received > self._limits()[0]:
            self._refuse()
            self._discarded = self._received
            return
        super().handleContentChunk(data)

    def _refuse(self):
        self._refused = True
        content = getattr(self, "content", None)
        if content is not None:
            content.close()
        self.content = io.BytesIO()

    def _message(self):
        max_body = self._limits()[0]
        return (f"The request body is larger than this server accepts "
                f"({max_body} bytes); send a smaller request.\n").encode("utf-8")

    def _cut_connection(self):
        """Answer 413 at once and close: the client is sending far too much."""
        self._cut = True
        body = self._message()
        self.channel.transport.write(
            _TOO_BIG_STATUS + b"Content-Type: text/plain; charset=utf-8\r\n"
            + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        self.channel.loseConnection()

    def process(self):
        if self._cut:
            return
        if self._refused:
            self.site = self.channel.site
            self.channel.persistent = False
            body = self._message()
            self.setResponseCode(413)
            self.setHeader(b"content-type", b"text/plain; charset=utf-8")
            self.setHeader(b"connection", b"close")
            self.setHeader(b"content-length", b"%d" % len(body))
            self.write(body)
            self.finish()
            return
        super().process()


class PathRouter(resource.Resource):
    """Serves one leaf resource on several exact paths; 404 elsewhere."""

    isLeaf = True

    def __init__(self, routes):
        super().__init__()
        self.routes = {}
        for path, target in routes.items():
            self.routes[self._key(path)] = target

    @staticmethod
    def _key(path):
        if isinstance(path, str):
            path = path.encode("utf-8")
        return path.rstrip(b"/") or b"/"

    def render(self, request):
        target = self.routes.get(self._key(request.path))
        if target is None:
            return resource.NoResource("No XML-RPC endpoint here.").render(request)
        return target.render(request)


class GamSite(server.Site):
    """A Site with :class:`CappedRequest` and no tracebacks in responses."""

    requestFactory = CappedRequest
    displayTracebacks = False
    noisy = False

    def __init__(self, root, *, max_body=DEFAULT_MAX_BODY,
                 discard_limit=DEFAULT_DISCARD_LIMIT, idle_timeout=DEFAULT_IDLE_TIMEOUT,
                 **kwargs):
        super().__init__(root, timeout=idle_timeout, **kwargs)
        if max_body <= 0:
            raise ValueError("max_body must be positive")
        self.max_body = max_body
        self.discard_limit = discard_limit


def build_site(xmlrpc_resource, *, path=DEFAULT_PATH, aliases=ALIASES, **site_options):
    """A :class:`GamSite` serving ``xmlrpc_resource`` on ``path`` and the aliases."""
    routes = {alias: xmlrpc_resource for alias in aliases}
    routes[path] = xmlrpc_resource
    return GamSite(PathRouter(routes), **site_options)


__all__ = ["CappedRequest", "PathRouter", "GamSite", "build_site", "DEFAULT_MAX_BODY",
           "DEFAULT_DISCARD_LIMIT", "DEFAULT_IDLE_TIMEOUT", "DEFAULT_PATH", "ALIASES"]
