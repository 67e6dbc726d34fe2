"""The one exception hierarchy of gam.

Every error that can reach a client carries the GENI ``geni_code`` it maps
to; the RPC layer turns it into the return envelope (``code.geni_code`` and
``output``). Messages say what was wrong and what to do about it; they never
carry a traceback.
"""


class GeniCode:
    """GENI AM API v3 result codes (see shared/spec/AM-API-v3.md)."""

    SUCCESS = 0
    BADARGS = 1
    ERROR = 2
    FORBIDDEN = 3
    BADVERSION = 4
    SERVERERROR = 5
    TOOBIG = 6
    REFUSED = 7
    TIMEDOUT = 8
    DBERROR = 9
    RPCERROR = 10
    UNAVAILABLE = 11
    SEARCHFAILED = 12
    UNSUPPORTED = 13
    BUSY = 14
    EXPIRED = 15
    INPROGRESS = 16
    ALREADYEXISTS = 17
    MISSINGARGS = 18
    OUTOFRANGE = 19
    CREDENTIAL_INVALID = 20
    CREDENTIAL_EXPIRED = 21
    CREDENTIAL_MISMATCH = 22
    CREDENTIAL_SIGNER_UNTRUSTED = 23
    VLAN_UNAVAILABLE = 24
    INSUFFICIENT_BANDWIDTH = 25
    INSUFFICIENT_NODES = 26


class GeniError(Exception):
    """An error with a GENI code and a message meant for the client.

    ``reason`` is a short machine-readable tag (for example ``"expired"``)
    that tests and audit logs key on; the message is for people.
    """

    geni_code = GeniCode.ERROR
    default_reason = "error"

    def __init__(self, message, *, reason=None, geni_code=None):
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        if geni_code is not None:
            self.geni_code = geni_code

    def __str__(self):
        return self.message


class BadArgs(GeniError):
    geni_code = GeniCode.BADARGS
    default_reason = "bad-args"


class Forbidden(GeniError):
    geni_code = GeniCode.FORBIDDEN
    default_reason = "forbidden"


class BadVersion(GeniError):
    geni_code = GeniCode.BADVERSION
    default_reason = "bad-version"


class ServerError(GeniError):
    geni_code = GeniCode.SERVERERROR
    default_reason = "server-error"


class TooBig(GeniError):
    geni_code = GeniCode.TOOBIG
    default_reason = "too-big"


class Refused(GeniError):
    geni_code = GeniCode.REFUSED
    default_reason = "refused"


class TimedOut(GeniError):
    geni_code = GeniCode.TIMEDOUT
    default_reason = "timed-out"


class DBError(GeniError):
    geni_code = GeniCode.DBERROR
    default_reason = "db-error"


class Unavailable(GeniError):
    geni_code = GeniCode.UNAVAILABLE
    default_reason = "unavailable"


class SearchFailed(GeniError):
    geni_code = GeniCode.SEARCHFAILED
    default_reason = "not-found"


class Unsupported(GeniError):
    geni_code = GeniCode.UNSUPPORTED
    default_reason = "unsupported"


class Busy(GeniError):
    geni_code = GeniCode.BUSY
    default_reason = "busy"


class Expired(GeniError):
    geni_code = GeniCode.EXPIRED
    default_reason = "expired"


class InProgress(GeniError):
    geni_code = GeniCode.INPROGRESS
    default_reason = "in-progress"


class AlreadyExists(GeniError):
    geni_code = GeniCode.ALREADYEXISTS
    default_reason = "already-exists"


class MissingArgs(GeniError):
    geni_code = GeniCode.MISSINGARGS
    default_reason = "missing-args"


class OutOfRange(GeniError):
    geni_code = GeniCode.OUTOFRANGE
    default_reason = "out-of-range"


class VlanUnavailable(GeniError):
    geni_code = GeniCode.VLAN_UNAVAILABLE
    default_reason = "vlan-unavailable"


class InsufficientBandwidth(GeniError):
    geni_code = GeniCode.INSUFFICIENT_BANDWIDTH
    default_reason = "insufficient-bandwidth"


class InsufficientNodes(GeniError):
    geni_code = GeniCode.INSUFFICIENT_NODES
    default_reason = "insufficient-nodes"


class ConfigError(Exception):
    """A configuration file is missing, unreadable or wrong.

    Never sent to a client: it stops the program before anything starts,
    with a message naming the file and the key.
    """

    def __init__(self, message, *, path=None, key=None):
        where = ""
        if path and key:
            where = f"{path}: {key}: "
        elif path:
            where = f"{path}: "
        elif key:
            where = f"{key}: "
        super().__init__(where + message)
        self.path = path
        self.key = key
