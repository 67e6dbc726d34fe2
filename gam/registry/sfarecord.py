"""SFA record dictionaries: the registry's records as SFA clients read and write them.

Out (Resolve, List): ``hrn``, ``urn``, ``type``, ``gid`` (PEM chain),
``authority`` (parent HRN), ``uuid``, ``date_created``, ``last_updated``,
and by type: users ``email``, ``keys``/``reg-keys`` (ssh public keys),
``slices``/``reg-slices`` and ``reg-pi-authorities`` (HRNs); slices
``expires`` (RFC 3339), ``researcher``/``reg-researchers`` (HRNs);
authorities ``pi``/``reg-pis`` (HRNs). No value is ever nil.

In (Register, Update): ``type`` and ``hrn`` (or ``urn``) name the record;
users take ``email``, ``keys``/``reg-keys`` (one ssh public key or a list)
and ``public_key`` (PEM public key, PEM certificate or OpenSSH key: the key
the user certificate certifies); slices take ``expires`` (seconds since
the epoch as a number or string, or an RFC 3339 date) and
``researcher``/``reg-researchers``; authorities ``pi``/``reg-pis``. Members
are user HRNs or URNs. Other fields (``description``, ``url``, ``gid``,
``PI`` of a slice, ...) are accepted and ignored, as SFA clients send them.
"""
import datetime
import re
import xmlrpc.client

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gam.errors import BadArgs
from gam.registry.hrn import candidates, normalise_type, one_urn
from gam.registry.manager import RecordSpec
from gam.rpc.wire import format_time, parse_time

UTC = datetime.timezone.utc
MAX_SSH_KEYS = 32
MAX_KEY_TEXT = 16 * 1024
MIN_RSA_BITS = 2048
_EPOCH_RE = re.compile(r"^\s*\d+(\.\d+)?\s*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def record_to_sfa(record):
    """The SFA dictionary of a :class:`gam.registry.records.Record`."""
    out = {
        "hrn": record.hrn,
        "urn": str(record.urn),
        "type": record.type,
        "gid": record.gid,
        "authority": record.parent_hrn,
        "uuid": record.uuid,
        "date_created": format_time(record.created),
        "last_updated": format_time(record.updated),
    }
    if record.type == "user":
        if record.email:
            out["email"] = record.email
        out["keys"] = out["reg-keys"] = list(record.ssh_keys)
        out["slices"] = out["reg-slices"] = [u.hrn for u in record.slices]
        out["reg-pi-authorities"] = [u.hrn for u in record.pi_of]
    elif record.type == "slice":
        out["expires"] = format_time(record.expires)
        out["researcher"] = out["reg-researchers"] = [u.hrn for u in record.researchers]
    elif record.type == "authority":
        out["name"] = record.hrn
        out["pi"] = out["reg-pis"] = [u.hrn for u in record.pis]
    return out


def parse_expires(value):
    """An aware UTC datetime from SFA's forms of a slice expiration."""
    if isinstance(value, bool):
        raise BadArgs("expires must be a date, not a boolean")
    if isinstance(value, (int, float)) or (isinstance(value, str) and _EPOCH_RE.match(value)):
        try:
            return datetime.datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise BadArgs(f"expires {value!r} is not a usable time in seconds since "
                          "1970") from None
    if isinstance(value, (str, xmlrpc.client.DateTime, datetime.datetime)):
        return parse_time(value, "expires")
    raise BadArgs(f"expires must be seconds since 1970 or an RFC 3339 date, not "
                  f"{type(value).__name__}")


def parse_ssh_keys(value):
    """A tuple of ssh public key lines; BadArgs for anything else."""
    if isinstance(value, str):
        value = [value] if value.strip() else []
    if not isinstance(value, (list, tuple)):
        raise BadArgs("keys must be an ssh public key string or a list of them")
    if len(value) > MAX_SSH_KEYS:
        raise BadArgs(f"{len(value)} ssh keys were given; at most {MAX_SSH_KEYS} are kept")
    keys = []
    for i, text in enumerate(value, 1):
        if not isinstance(text, str) or len(text) > MAX_KEY_TEXT:
            raise BadArgs(f"ssh key {i} must be a string of at most {MAX_KEY_TEXT} characters")
        line = " ".join(text.split())
        try:
            serialization.load_ssh_public_key(line.encode("ascii"))
        except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
            raise BadArgs(f"ssh key {i} is not an OpenSSH public key (expected a line such as "
                          "'ssh-ed25519 AAAA... you@host')") from None
        if line not in keys:
            keys.append(line)
    return tuple(keys)


def _check_rsa(key, what):
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadArgs(f"{what} must be an RSA key: GENI tools sign and verify with RSA")
    if key.key_size < MIN_RSA_BITS:
        raise BadArgs(f"{what} is a {key.key_size}-bit RSA key; use at least {MIN_RSA_BITS} "
                      "bits")
    return key


def parse_public_key(value, what="public_key"):
    """A cryptography RSA public key from PEM, a PEM certificate or OpenSSH text."""
    if not isinstance(value, str) or len(value) > MAX_KEY_TEXT:
        raise BadArgs(f"{what} must be a PEM public key, PEM certificate or OpenSSH key string")
    text = value.strip()
    try:
        if "-----BEGIN CERTIFICATE-----" in text:
            key = x509.load_pem_x509_certificate(text.encode("ascii")).public_key()
        elif text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_ssh_public_key(" ".join(text.split()).encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise BadArgs(f"{what} could not be read: give a PEM 'PUBLIC KEY', a PEM certificate "
                      "or an 'ssh-rsa ...' line") from None
    return _check_rsa(key, what)


def ssh_rsa_key(ssh_keys):
    """The first ssh-rsa key usable as a certificate key (SFA's habit), or None."""
    for line in ssh_keys:
        if line.startswith("ssh-rsa "):
            key = serialization.load_ssh_public_key(line.encode("ascii"))
            if key.key_size >= MIN_RSA_BITS:
                return key
    return None


def _members(value, field):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise BadArgs(f"{field} must be a list of user HRNs or URNs")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise BadArgs(f"{field} must hold user HRNs or URNs, not {type(item).__name__}")
        urn = candidates(item, "user")[0]
        if urn not in out:
            out.append(urn)
    return tuple(out)


def _first(record, *names):
    for name in names:
        value = record.get(name)
        if value is not None:
            return name, value
    return None, None


def sfa_to_spec(record):
    """A RecordSpec from a Register/Update record dictionary."""
    if not isinstance(record, dict):
        raise BadArgs(f"the record must be a struct (such as {{'type': 'slice', 'hrn': "
                      f"'gam.myslice'}}), not {type(record).__name__}")
    rtype = normalise_type(record.get("type"))
    name = record.get("urn") or record.get("hrn")
    if not name:
        raise BadArgs("the record names no record: give 'hrn' (such as 'gam.lab.alice') or "
                      "'urn', and 'type'")
    if rtype is None:
        found = candidates(name)
        if len(found) != 1:
            raise BadArgs(f"the record {name!r} has no 'type'; add 'type': 'user', 'slice', "
                          "'authority' or 'node'")
        urn = found[0]
    else:
        urn = one_urn(name, rtype)
    if record.get("urn") and record.get("hrn"):
        other = candidates(record["hrn"], urn.type)
        if urn not in other:
            raise BadArgs(f"the record's hrn {record['hrn']!r} and urn {record['urn']!r} name "
                          "different records; send one of them")
    fields = {}
    if urn.type == "user":
        email = record.get("email")
        if email not in (None, ""):
            if not isinstance(email, str) or not _EMAIL_RE.match(email) or len(email) > 254:
                raise BadArgs(f"email {email!r} is not an e-mail address")
            fields["email"] = email
        _, keys = _first(record, "reg-keys", "keys")
        if keys is not None:
            fields["ssh_keys"] = parse_ssh_keys(keys)
    if urn.type in ("user", "node") and record.get("public_key") not in (None, ""):
        fields["public_key"] = parse_public_key(record["public_key"])
    if urn.type == "slice":
        field, value = _first(record, "reg-researchers", "researcher", "researchers")
        if value is not None:
            fields["researchers"] = _members(value, field)
        if record.get("expires") not in (None, ""):
            fields["expires"] = parse_expires(record["expires"])
    if urn.type == "authority":
        field, value = _first(record, "reg-pis", "pi", "PI", "pis")
        if value is not None:
            fields["pis"] = _members(value, field)
    return RecordSpec(urn=urn, **fields)


__all__ = ["record_to_sfa", "sfa_to_spec", "parse_expires", "parse_ssh_keys",
           "parse_public_key", "ssh_rsa_key"]
