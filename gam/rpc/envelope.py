"""How a call's outcome is put on the wire: the GENI envelope, or SFA's Faults.

The GENI return envelope every AM API method answers with:

``{code: {geni_code, am_type, am_code}, value, output}``: ``value`` is the
method's result (``''`` on error), ``output`` says what went wrong (empty on
success). A handler returns a plain value, or a :class:`Result` when it
needs an output text or extra top-level members (GetVersion's ``geni_api``).
"""
import xmlrpc.client
from dataclasses import dataclass, field

from gam.errors import GeniCode

AM_TYPE = "gam"


@dataclass(frozen=True)
class Result:
    """A handler's answer with more than a value."""

    value: object
    output: str = ""
    extra: dict = field(default_factory=dict)


class GeniEnvelope:
    """Builds envelopes for one AM type; the XML-RPC resource calls it."""

    def __init__(self, am_type=AM_TYPE, extra_code=None):
        self.am_type = am_type
        self.extra_code = dict(extra_code or {})

    def code(self, geni_code):
        code = dict(self.extra_code)
        code.update(geni_code=int(geni_code), am_type=self.am_type, am_code=int(geni_code))
        return code

    def success(self, result):
        """The envelope of a handler's return value (a plain value or a Result)."""
        if not isinstance(result, Result):
            result = Result(result)
        envelope = dict(result.extra)
        envelope.update(code=self.code(GeniCode.SUCCESS), value=result.value,
                        output=result.output)
        return envelope

    def error(self, geni_code, message, value=""):
        if not message:
            message = f"the call failed with geni_code {geni_code}"
        return {"code": self.code(geni_code), "value": value, "output": message}

    @staticmethod
    def geni_code_of(envelope):
        """The geni_code of an envelope this class built (for the audit line)."""
        return envelope["code"]["geni_code"]


class FaultEnvelope:
    """The SFA registry way: the bare value on success, an XML-RPC Fault
    (``faultCode`` = geni_code, ``faultString`` = the message) on error."""

    @staticmethod
    def success(result):
        return result.value if isinstance(result, Result) else result

    @staticmethod
    def error(geni_code, message, value=""):
        return xmlrpc.client.Fault(int(geni_code), message or f"failed with code {geni_code}")


__all__ = ["AM_TYPE", "Result", "GeniEnvelope", "FaultEnvelope"]
