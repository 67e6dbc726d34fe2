"""``gam`` subcommands of the registry.

    gam registry -c CONFIG                       run the registry (HTTPS XML-RPC)
    gam authority add HRN [--pi USER]...         add a sub-authority
    gam authority am-cert --out DIR [--name NAME] [--trust-roots DIR] [--force]
                                                 the AM's TLS certificate, key, trust root
    gam user add NAME [--authority HRN] [--email E] [--ssh-key FILE]...
                 [--public-key FILE] [--pi] [--out DIR]
    gam slice create NAME [--authority HRN] [--researcher USER]... [--days N | --expires DATE]
    gam slice renew NAME [--authority HRN] (--days N | --expires DATE)
    gam slice show NAME [--dir DIR | --am-config CONFIG] [-c CONFIG]   (gam.ops.status)
    gam credential slice NAME --user USER [-o FILE]
    gam credential user USER [-o FILE]
    gam omni-config USER [--dir DIR] [--key FILE]

All but ``registry`` act on the database and the authorities' keys
directly, as the operator, with the same rules as the XML-RPC methods.
Names are a bare name under ``--authority`` (default: the root), or a
full HRN (``gamtest.lab.alice``) or URN. Every command takes ``-c CONFIG``
(default ``$GAM_REGISTRY_CONFIG`` or /etc/gam/registry.yaml).
"""
import argparse
import datetime
import os
import sys

from twisted.internet import defer, task, threads
from twisted.logger import globalLogBeginner, textFileLogObserver

from gam.errors import BadArgs, ConfigError, GeniError
from gam.registry import hrn as hrnmod
from gam.registry.amidentity import (
    am_urn, root_certificate_pem, thd_issue_am_identity, trust_root_path, write_trust_root)
from gam.registry.authorities import KeyStore, write_private_file, write_public_file
from gam.registry.config import load_settings
from gam.registry.manager import RecordSpec, RegistryManager
from gam.registry.omniconfig import write_files
from gam.registry.sfarecord import parse_expires, parse_public_key, parse_ssh_keys
from gam.rpc.wire import format_time

DEFAULT_CONFIG = "/etc/gam/registry.yaml"


def _config_default():
    return os.environ.get("GAM_REGISTRY_CONFIG", DEFAULT_CONFIG)


def _add_config(parser):
    parser.add_argument("-c", "--config", default=_config_default(),
                        help="registry configuration file (YAML with a 'registry:' section; "
                             "default: %(default)s)")


def _add_authority(parser):
    parser.add_argument("--authority", metavar="HRN",
                        help="the authority of a bare NAME (default: the root authority)")


def register_commands(subparsers):
    """Add the registry's subcommands to the ``gam`` parser's subparsers."""
    p = subparsers.add_parser("registry", help="run the SFA-style registry server",
                              description="Run the registry: HTTPS XML-RPC with client "
                                          "certificates, until interrupted.")
    _add_config(p)
    p.set_defaults(func=cmd_registry)

    p = subparsers.add_parser("authority", help="manage the registry's authorities")
    sub = p.add_subparsers(dest="authority_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add a sub-authority (its key is made and kept here)")
    a.add_argument("hrn", metavar="HRN", help="the new authority, such as 'gamtest.lab'")
    a.add_argument("--pi", action="append", default=[], metavar="USER",
                   help="a registered user who becomes a PI (repeatable)")
    _add_config(a)
    a.set_defaults(func=cmd_authority_add)
    a = sub.add_parser(
        "am-cert", help="issue an AM's TLS certificate and key, signed by the root authority",
        description="Issue an aggregate manager's certificate (CA:FALSE, URN "
                    "<root>+authority+NAME) and a new private key, signed by this registry's "
                    "root authority, and put the root's certificate in the AM's trust roots "
                    "directory, so that the AM accepts this registry's users and credentials. "
                    "Writes DIR/am.pem (certificate, then the root's) and DIR/am.key (mode "
                    "0600): the files tls.certificate and tls.key of the AM's gam.yaml. "
                    "Refuses to replace existing files without --force, and needs a registry "
                    "that has made its root (started once).")
    a.add_argument("--out", metavar="DIR", required=True,
                   help="where to write am.pem and am.key, such as /etc/gam/keys")
    a.add_argument("--name", default="am",
                   help="the AM's URN is <root>+authority+NAME (default: %(default)s); put "
                        "that URN in the AM's am.urn")
    a.add_argument("--trust-roots", metavar="DIR",
                   help="the AM's trust roots directory (tls.trust_roots), where the root's "
                        "certificate goes as <root>.pem (default: DIR/trusted_roots)")
    a.add_argument("--force", action="store_true",
                   help="replace existing files (restart the AM afterwards)")
    _add_config(a)
    a.set_defaults(func=cmd_authority_am_cert)

    p = subparsers.add_parser("user", help="manage registry users")
    sub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="register a user and issue its certificate")
    a.add_argument("name", metavar="NAME", help="user name (1-8 letters, digits, '_') or HRN")
    _add_authority(a)
    a.add_argument("--email", help="the user's e-mail address (goes into the certificate)")
    a.add_argument("--ssh-key", action="append", default=[], metavar="FILE",
                   help="an ssh public key file for logins on slivers (repeatable)")
    a.add_argument("--public-key", metavar="FILE",
                   help="the public key (PEM, certificate or ssh-rsa) to certify; without it "
                        "a key pair is made and the private key written once to --out")
    a.add_argument("--pi", action="store_true", help="make the user a PI of its authority")
    a.add_argument("--out", metavar="DIR", default=".",
                   help="where to write NAME.pem (certificate chain) and NAME.key "
                        "(default: the current directory)")
    _add_config(a)
    a.set_defaults(func=cmd_user_add)

    p = subparsers.add_parser("slice", help="manage registry slices")
    sub = p.add_subparsers(dest="slice_command", metavar="ACTION", required=True)
    a = sub.add_parser("create", help="register a slice")
    a.add_argument("name", metavar="NAME", help="slice name (1-19 letters, digits, '-') or HRN")
    _add_authority(a)
    a.add_argument("--researcher", action="append", default=[], metavar="USER",
                   help="a user who may use the slice (repeatable)")
    _add_expiry(a, required=False)
    _add_config(a)
    a.set_defaults(func=cmd_slice_create)
    a = sub.add_parser("renew", help="move a slice's expiration")
    a.add_argument("name", metavar="NAME")
    _add_authority(a)
    _add_expiry(a, required=True)
    _add_config(a)
    a.set_defaults(func=cmd_slice_renew)
    a = sub.add_parser("show", help="one slice: its registry record and its slivers at the AM",
                       description="Show one slice: the registry's record (expiry, "
                                   "researchers) and the AM's slivers with their states, "
                                   "expiry and logins, read from the databases.")
    a.add_argument("name", metavar="NAME", help="the slice's name, HRN or URN")
    a.add_argument("--dir", help="a quickstart state directory (its AM and registry)")
    a.add_argument("--am-config", metavar="CONFIG", help="the AM's gam.yaml")
    a.add_argument("-c", "--config", default=None,
                   help="the registry's configuration (default: $GAM_REGISTRY_CONFIG, then "
                        "the first of: the running default quickstart's, "
                        "/etc/gam/registry.yaml, the default quickstart's, "
                        "etc/registry.yaml; none: the AM only)")
    a.set_defaults(func=cmd_slice_show)

    p = subparsers.add_parser("credential", help="write a signed credential (XML)")
    sub = p.add_subparsers(dest="credential_command", metavar="KIND", required=True)
    a = sub.add_parser("slice", help="a slice credential for one of its researchers or PIs")
    a.add_argument("name", metavar="NAME", help="the slice")
    _add_authority(a)
    a.add_argument("--user", required=True, metavar="USER",
                   help="the credential's owner (a researcher of the slice or a PI)")
    a.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    _add_config(a)
    a.set_defaults(func=cmd_credential_slice)
    a = sub.add_parser("user", help="a user's own credential")
    a.add_argument("name", metavar="USER")
    _add_authority(a)
    a.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    _add_config(a)
    a.set_defaults(func=cmd_credential_user)

    p = subparsers.add_parser("omni-config", help="write omni_config and a geni-lib context "
                                                  "for a user")
    p.add_argument("name", metavar="USER")
    _add_authority(p)
    p.add_argument("--dir", default=".", help="where to write them (default: .)")
    p.add_argument("--key", metavar="FILE",
                   help="the user's private key (default: DIR/USER.key, as 'gam user add' "
                        "writes it)")
    _add_config(p)
    p.set_defaults(func=cmd_omni_config)


def _add_expiry(parser, required):
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--days", type=float, help="expire this many days from now")
    group.add_argument("--expires", metavar="DATE",
                       help="expire at this RFC 3339 date (2026-11-21T10:00:00Z)")


# ---------------------------------------------------------------- plumbing

def _fail(message):
    print(f"gam: error: {message}", file=sys.stderr)
    return 1


def _operate(args, action, settings=None):
    """Run ``action(manager, args)`` (a coroutine) with a started manager."""
    if settings is None:
        try:
            settings = load_settings(args.config)
        except ConfigError as e:
            return _fail(str(e))
    outcome = {}

    async def body(reactor):
        manager = RegistryManager(settings, reactor=reactor)
        await manager.start()
        try:
            outcome["code"] = await action(manager, args)
        finally:
            await manager.stop()

    def main(reactor):
        d = defer.ensureDeferred(body(reactor))

        def failed(failure):
            error = failure.value
            if isinstance(error, (GeniError, ConfigError, OSError)):
                outcome["error"] = str(error)
                return None
            return failure
        return d.addErrback(failed)
    try:
        task.react(main)
    except SystemExit as e:
        if e.code not in (0, None):
            return int(e.code) if isinstance(e.code, int) else 1
    if "error" in outcome:
        return _fail(outcome["error"])
    return outcome.get("code", 0) or 0


def _xrn(name, authority, rtype, manager):
    """The URN of NAME: a full HRN/URN as given, or a bare name under --authority."""
    if name.lower().startswith("urn:") or "." in name:
        return hrnmod.one_urn(name, rtype)
    namespace = manager.root.authority
    if authority:
        namespace = hrnmod.one_urn(authority, "authority").authority
    return hrnmod.one_urn(f"{hrnmod.namespace_hrn(namespace)}.{name}", rtype)


def _expiry(args, manager):
    if getattr(args, "days", None) is not None:
        if args.days <= 0:
            raise BadArgs("--days must be a positive number of days")
        return manager.now() + datetime.timedelta(days=args.days)
    if getattr(args, "expires", None):
        return parse_expires(args.expires)
    return None


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _emit(text, output):
    if output:
        path = os.path.abspath(output)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_public_file(path, text)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


# ---------------------------------------------------------------- commands

def cmd_registry(args):
    try:
        settings = load_settings(args.config)
    except ConfigError as e:
        return _fail(str(e))
    from gam.registry.server import RegistryService
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])

    def main(reactor):
        service = RegistryService(settings, reactor=reactor)
        d = defer.ensureDeferred(service.start())

        def started(_):
            reactor.addSystemEventTrigger("before", "shutdown",
                                          lambda: defer.ensureDeferred(service.stop()))
            return defer.Deferred()  # until the reactor is stopped (SIGINT/SIGTERM)
        return d.addCallback(started)
    try:
        task.react(main)
    except SystemExit as e:
        return int(e.code) if isinstance(e.code, int) else 0
    return 0


async def _authority_add(manager, args):
    urn = hrnmod.one_urn(args.hrn, "authority")
    pis = tuple(_xrn(p, None, "user", manager) for p in args.pi)
    registered = await manager.register(RecordSpec(urn=urn, pis=pis))
    print(f"registered authority {registered.record.hrn} ({registered.record.urn}); key "
          f"{manager.keystore.key_path(registered.record.namespace)}")
    return 0


def cmd_authority_add(args):
    return _operate(args, _authority_add)


async def _authority_am_cert(manager, args):
    root = manager.root
    urn = am_urn(root.authority, args.name)
    out = os.path.abspath(args.out)
    cert_path, key_path = os.path.join(out, "am.pem"), os.path.join(out, "am.key")
    trust_dir = os.path.abspath(args.trust_roots or os.path.join(out, "trusted_roots"))
    trust_path = trust_root_path(trust_dir, root.authority)
    if not args.force:
        taken = [p for p in (cert_path, key_path) if os.path.lexists(p)]
        # The root's own certificate already in place is no reason to stop.
        if os.path.lexists(trust_path) and _read(trust_path) != root_certificate_pem(root):
            taken.append(trust_path)
        if taken:
            return _fail(f"{', '.join(taken)} already exist{'s' if len(taken) == 1 else ''}; "
                         "pass --force to replace them (then restart the AM), or choose "
                         "another --out or --trust-roots")
    gid = await threads.deferToThread(thd_issue_am_identity, root, urn, cert_path, key_path,
                                      now=manager.now())
    write_trust_root(trust_dir, root)
    print(f"issued AM certificate {gid.urn} (signed by {root.urn}), expires "
          f"{format_time(gid.not_after)}")
    print(f"certificate chain (tls.certificate): {cert_path}")
    print(f"private key (tls.key, mode 0600): {key_path}")
    print(f"trust root (in tls.trust_roots {trust_dir}): {trust_path}")
    print(f"in the AM's gam.yaml, set am.urn: {gid.urn}")
    return 0


def cmd_authority_am_cert(args):
    try:
        settings = load_settings(args.config)
    except ConfigError as e:
        return _fail(str(e))
    try:
        am_urn(settings.authority, args.name)
    except GeniError as e:
        return _fail(str(e))
    # Starting the manager on a registry never started would make a new root
    # (and an empty state directory): an AM certificate needs the real one.
    keystore = KeyStore(settings.state_dir)
    if not keystore.has_key(settings.authority):
        return _fail(f"the registry of {args.config} is not initialised: its root authority "
                     f"{settings.authority} has no key {keystore.key_path(settings.authority)}; "
                     f"start the registry once (gam registry -c {args.config}, or systemctl start "
                     "gam-registry) so that it makes its root, or set registry.state_dir to "
                     "where its keys are, then run this again")
    return _operate(args, _authority_am_cert, settings)


async def _user_add(manager, args):
    urn = _xrn(args.name, args.authority, "user", manager)
    ssh_keys = parse_ssh_keys([_read(p) for p in args.ssh_key]) if args.ssh_key else None
    public_key = parse_public_key(_read(args.public_key)) if args.public_key else None
    registered = await manager.register(RecordSpec(urn=urn, email=args.email,
                                                   ssh_keys=ssh_keys, public_key=public_key))
    record = registered.record
    if args.pi:
        await manager.add_member(hrnmod.authority_urn(record.parent), "pi", record.urn)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    cert_path = os.path.join(out, f"{urn.name}.pem")
    write_public_file(cert_path, record.gid)
    print(f"registered user {record.hrn} ({record.urn})")
    print(f"certificate chain: {cert_path}")
    if registered.private_key_pem:
        key_path = os.path.join(out, f"{urn.name}.key")
        write_private_file(key_path, registered.private_key_pem)
        print(f"private key (mode 0600, not kept by the registry): {key_path}")
    return 0


def cmd_user_add(args):
    return _operate(args, _user_add)


async def _slice_create(manager, args):
    urn = _xrn(args.name, args.authority, "slice", manager)
    researchers = tuple(_xrn(r, args.authority, "user", manager) for r in args.researcher)
    registered = await manager.register(RecordSpec(urn=urn, researchers=researchers,
                                                   expires=_expiry(args, manager)))
    record = registered.record
    print(f"registered slice {record.hrn} ({record.urn}), expires {format_time(record.expires)}")
    return 0


def cmd_slice_create(args):
    return _operate(args, _slice_create)


async def _slice_renew(manager, args):
    urn = _xrn(args.name, args.authority, "slice", manager)
    record = await manager.update(RecordSpec(urn=urn, expires=_expiry(args, manager)))
    print(f"slice {record.hrn} now expires {format_time(record.expires)}")
    return 0


def cmd_slice_renew(args):
    return _operate(args, _slice_renew)


def cmd_slice_show(args):
    from gam.ops.status import cmd_slice_show as show
    return show(args)


async def _credential_slice(manager, args):
    urn = _xrn(args.name, args.authority, "slice", manager)
    user = _xrn(args.user, args.authority, "user", manager)
    _emit(await manager.credential_for(user, urn), args.output)
    return 0


def cmd_credential_slice(args):
    return _operate(args, _credential_slice)


async def _credential_user(manager, args):
    user = _xrn(args.name, args.authority, "user", manager)
    _emit(await manager.credential_for(user, user), args.output)
    return 0


def cmd_credential_user(args):
    return _operate(args, _credential_user)


async def _omni_config(manager, args):
    user = _xrn(args.name, args.authority, "user", manager)
    record = await manager.get(user)
    directory = os.path.abspath(args.dir)
    key_path = os.path.abspath(args.key) if args.key else os.path.join(directory,
                                                                      f"{user.name}.key")
    written = write_files(directory, record=record,
                          registry_url=manager.settings.public_url,
                          cert_path=os.path.join(directory, f"{user.name}.pem"),
                          key_path=key_path)
    for what, path in written.items():
        print(f"{what}: {path}")
    if not os.path.exists(key_path):
        print(f"note: {key_path} does not exist; put {user.name}'s private key there or pass "
              "--key", file=sys.stderr)
    return 0


def cmd_omni_config(args):
    return _operate(args, _omni_config)


def main(argv=None):
    """``python -m gam.registry.commands ...``: these subcommands on their own."""
    parser = argparse.ArgumentParser(prog="gam", description="gam registry commands")
    register_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
