"""An XML-RPC resource that answers every call with a GENI envelope.

Only two answers are XML-RPC Faults, as clients expect: a request that is
not XML-RPC (:data:`FAULT_MALFORMED`) and a method that does not exist
(:data:`FAULT_NO_METHOD`). Everything else is an envelope: a
:class:`~gam.errors.GeniError` gives its geni_code and message; any other
exception, or a result XML-RPC cannot carry (None, nil), gives geni_code 5
with an incident id whose traceback is in the server log only.

A handler is any object with ``procedures()`` returning ``{name:
callable}``; each callable is called as ``fn(call, *params)`` and may be a
coroutine function. ``call`` is the :class:`Call`: the method, the request,
the client's certificate chain, and ``caller``/``slice`` for the audit line.
"""
import inspect
import uuid
import xml.parsers.expat
import xmlrpc.client

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server

from gam.auth.gid import GID
from gam.errors import BadArgs, GeniCode, GeniError
from gam.rpc import tls
from gam.rpc.envelope import GeniEnvelope
from gam.rpc.wire import NilInResult, UnsendableResult, to_wire

FAULT_NO_METHOD = 8001
FAULT_MALFORMED = 8002

audit_log = Logger(namespace="gam.audit")
log = Logger(namespace="gam.rpc")


class MalformedRequest(ValueError):
    """The body is not an XML-RPC method call."""


def _refuse_declaration(*args):
    raise MalformedRequest("DOCTYPE and entity declarations are not allowed in XML-RPC")


def loads_request(data):
    """``(params, method)`` of an XML-RPC request body.

    Like ``xmlrpc.client.loads`` (base64 as ``Binary``, dates as
    ``DateTime``), but refuses DOCTYPE and entity declarations, and raises
    :class:`MalformedRequest` for anything that is not a method call.
    """
    unmarshaller = xmlrpc.client.Unmarshaller()
    unmarshaller.xml(None, None)  # as xmlrpc.client's parser: expat hands over str
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_declaration
    parser.EntityDeclHandler = _refuse_declaration
    parser.StartElementHandler = unmarshaller.start
    parser.EndElementHandler = unmarshaller.end
    parser.CharacterDataHandler = unmarshaller.data
    try:
        parser.Parse(data, True)
        params = unmarshaller.close()
    except MalformedRequest:
        raise
    except xml.parsers.expat.ExpatError as e:
        raise MalformedRequest(f"the body is not well-formed XML ({e})") from None
    except Exception as e:
        raise MalformedRequest(f"the body is not valid XML-RPC ({type(e).__name__})") from None
    method = unmarshaller.getmethodname()
    if not method:
        raise MalformedRequest("the body is not an XML-RPC methodCall (no methodName)")
    return params, method


class Call:
    """One XML-RPC call, as handlers and the audit line see it."""

    def __init__(self, method, request, started):
        self.method = method
        self.request = request
        self.started = started
        self.caller = None      # set by handlers once the caller is verified
        self.slice = None       # the slice URN the call acts on, if any
        self.geni_code = None
        self.incident = None
        # The client's certificates (cryptography, leaf first), read now:
        # the connection may be gone by the time a handler asks.
        self.peer_chain = tls.peer_chain(request)

    def peer_urn(self):
        """The URN in the client's TLS certificate, or None."""
        if not self.peer_chain:
            return None
        try:
            urn = GID(self.peer_chain[0]).urn
        except Exception:
            return None
        return str(urn) if urn is not None else None


def _check_arity(fn, call, params):
    try:
        inspect.signature(fn).bind(call, *params)
    except TypeError:
        sig = inspect.signature(fn)
        names = [p.name for p in list(sig.parameters.values())[1:]]
        optional = [p.name for p in list(sig.parameters.values())[1:]
                    if p.default is not inspect.Parameter.empty]
        expected = ", ".join(names)
        if optional:
            expected += f" ({', '.join(optional)} optional)"
        raise BadArgs(f"{call.method} takes the arguments {expected}; "
                      f"{len(params)} were given") from None


class XMLRPCResource(resource.Resource):
    """POST-only XML-RPC resource dispatching to ``handler.procedures()``."""

    isLeaf = True

    def __init__(self, handler, *, envelope=None, clock=None):
        super().__init__()
        self.handler = handler
        self.envelope = envelope or GeniEnvelope()
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock

    def render_GET(self, request):
        request.setResponseCode(405)
        request.setHeader(b"allow", b"POST")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"This is a GENI XML-RPC endpoint: POST XML-RPC method calls to it.\n"

    def render_POST(self, request):
        started = self.clock.seconds()
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        request.content.seek(0, 0)
        try:
            params, method = loads_request(request.content.read())
        except MalformedRequest as e:
            self._audit(Call("?", request, started), "fault")
            return self._fault(FAULT_MALFORMED, str(e))
        call = Call(method, request, started)
        fn = self.handler.procedures().get(method)
        if fn is None:
            self._audit(call, "fault")
            names = ", ".join(sorted(self.handler.procedures()))
            return self._fault(FAULT_NO_METHOD,
                               f"there is no method {method!r} here; the methods are {names}")

        gone = []
        request.notifyFinish().addErrback(gone.append)
        d = defer.Deferred.fromCoroutine(self._run(call, fn, params))
        d.addCallback(self._write, request, gone)
        d.addErrback(lambda f: log.failure("writing the answer to {method} failed",
                                           failure=f, method=method))
        return server.NOT_DONE_YET

    async def _run(self, call, fn, params):
        """Run one call; always return the serialised envelope."""
        try:
            _check_arity(fn, call, params)
            result = fn(call, *params)
            if inspect.isawaitable(result):
                result = await result
            body = self._dumps(self.envelope.success(result))
            call.geni_code = GeniCode.SUCCESS
        except GeniError as e:
            call.geni_code = e.geni_code
            body = self._dumps(self.envelope.error(e.geni_code, e.message))
        except (NilInResult, UnsendableResult) as e:
            body = self._incident(call, None, e)
        except Exception:
            body = self._incident(call, Failure(), None)
        self._audit(call, call.geni_code)
        return body

    def _dumps(self, answer):
        """Serialise what the envelope built: a value, or an xmlrpc Fault."""
        if isinstance(answer, xmlrpc.client.Fault):
            return xmlrpc.client.dumps(answer, methodresponse=True).encode("utf-8")
        return xmlrpc.client.dumps((to_wire(answer, "envelope"),), methodresponse=True,
                                   allow_none=False).encode("utf-8")

    def _incident(self, call, failure, problem):
        call.incident = uuid.uuid4().hex[:12]
        call.geni_code = GeniCode.SERVERERROR
        if failure is not None:
            log.failure("incident {incident}: {method} raised an unexpected error",
                        failure=failure, incident=call.incident, method=call.method)
        else:
            log.error("incident {incident}: {method} produced an unsendable result: {problem}",
                      incident=call.incident, method=call.method, problem=str(problem))
        message = (f"{call.method} failed with an internal error of the server "
                   f"(incident {call.incident}); please report the incident id to its "
                   "operator, who will find the details in the server log")
        return self._dumps(self.envelope.error(GeniCode.SERVERERROR, message))

    def _fault(self, code, message):
        return xmlrpc.client.dumps(xmlrpc.client.Fault(code, message),
                                   methodresponse=True).encode("utf-8")

    @staticmethod
    def _write(body, request, gone):
        if gone:
            return
        request.setHeader(b"content-length", b"%d" % len(body))
        request.write(body)
        request.finish()

    def _audit(self, call, code):
        caller = call.caller or call.peer_urn() or "-"
        duration = (self.clock.seconds() - call.started) * 1000.0
        audit_log.info(
            "{method} caller={caller} slice={slice} geni_code={geni_code} "
            "duration_ms={duration_ms:.1f}{incident_text}",
            method=call.method, caller=caller, slice=call.slice or "-", geni_code=code,
            duration_ms=duration, incident=call.incident,
            incident_text=f" incident={call.incident}" if call.incident else "")


__all__ = ["XMLRPCResource", "Call", "loads_request", "MalformedRequest",
           "FAULT_NO_METHOD", "FAULT_MALFORMED"]
