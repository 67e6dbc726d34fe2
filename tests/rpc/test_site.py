"""The body cap of CappedRequest, driven byte by byte through a real HTTPChannel."""
import io

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial import unittest
from twisted.web import resource

from gam.rpc.site import CappedRequest, GamSite, PathRouter


class _Echo(resource.Resource):
    isLeaf = True

    def __init__(self):
        super().__init__()
        self.bodies = []

    def render_POST(self, request):
        body = request.content.read()
        self.bodies.append(body)
        return b"got %d" % len(body)


def _chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


class CappedRequestTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.echo = _Echo()
        # A Clock, so that the channel's idle timeout stays out of the reactor.
        self.site = GamSite(self.echo, max_body=1000, discard_limit=5000, reactor=Clock())
        self.requests = requests = []

        class Recorded(CappedRequest):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                requests.append(self)

        self.site.requestFactory = Recorded
        self.channel = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)

    def send(self, data):
        self.channel.dataReceived(data)

    def stored(self):
        """Bytes of body the request in progress holds."""
        return self.requests[-1].content.tell()

    def test_body_under_cap(self):
        self.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"a" * 1000)
        self.assertEqual(self.echo.bodies, [b"a" * 1000])
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 200 "))

    def test_declared_length_refused_before_storing(self):
        self.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n")
        for _ in range(2):
            self.send(b"b" * 1000)
            self.assertEqual(self.stored(), 0)
        self.assertEqual(self.transport.value(), b"")  # answered once the body is read
        self.send(b"b" * 1000)
        self.assertEqual(self.echo.bodies, [])
        answer = self.transport.value()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertIn(b"1000 bytes", answer)
        self.assertTrue(self.transport.disconnecting)

    def test_chunked_body_counted_while_read(self):
        self.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(10):
            self.send(_chunk(b"c" * 300))
            self.assertLessEqual(self.stored(), 1000)
        self.assertEqual(self.transport.value(), b"")  # still reading, nothing stored
        self.send(b"0\r\n\r\n")
        self.assertEqual(self.echo.bodies, [])
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 413 "))

    def test_far_too_big_is_cut_at_once(self):
        self.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        answer = self.transport.value()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertTrue(self.transport.disconnecting)

    def test_endless_chunks_are_cut(self):
        self.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(30):
            if self.transport.disconnecting:
                break
            self.send(_chunk(b"d" * 500))
        self.assertTrue(self.transport.disconnecting)
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertEqual(self.echo.bodies, [])

    def test_next_request_after_a_served_one(self):
        self.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                  b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nde")
        self.assertEqual(self.echo.bodies, [b"abc", b"de"])


class PathRouterTests(unittest.SynchronousTestCase):
    def test_exact_paths_only(self):
        from twisted.web.test.requesthelper import DummyRequest
        target = _Echo()
        router = PathRouter({"/am/3.0": target, "/": target})
        for path, found in ((b"/am/3.0", True), (b"/am/3.0/", True), (b"/", True),
                            (b"/am", False), (b"/am/3.0/x", False), (b"/RPC2", False)):
            request = DummyRequest(path.strip(b"/").split(b"/"))
            request.path = path
            request.method = b"POST"
            request.content = io.BytesIO()
            result = router.render(request)
            if found:
                self.assertEqual(result, b"got 0", path)
            else:
                self.assertEqual(request.responseCode, 404, path)
