"""``gam wait SLICE``: follow a provisioning until every sliver is ready or failed.

It polls the AM's ``Status`` over TLS as the experimenter (certificate,
key and slice credential), not the database: it sees exactly what a client
sees, needs no access to the AM's files, works from any machine, and so
also tells whether TLS, the trust roots and the credential work. Sliver
names (client_ids) come from one ``Describe``.

Exit status: 0 every sliver geni_ready, 1 some failed, 2 a wrong argument
or a refused call, 3 timed out.
"""
import datetime
import http.client
import json
import os
import ssl
import sys
import time
import xmlrpc.client

from gam.auth.credential import parse_credential
from gam.auth.urn import URN, URNError
from gam.ops.amclient import AMCallError, AMClient, credential_struct
from gam.ops.text import counted, relative, short_state, span
from gam.quickstart.layout import Layout
from gam.rfc3339 import parse_time
from gam.safexml import parse_untrusted

READY = frozenset({"geni_ready", "geni_ready_busy"})
FAILED = "geni_failed"
V3 = {"type": "GENI", "version": "3"}
EXIT_READY, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3


class UsageError(Exception):
    pass


def client_ids(manifest):
    """``{sliver URN: client_id}`` from a manifest RSpec."""
    if not manifest:
        return {}
    root = parse_untrusted(manifest, what="manifest")
    return {e.get("sliver_id"): e.get("client_id") for e in root.iter()
            if isinstance(e.tag, str) and e.get("sliver_id") and e.get("client_id")}


def verdict(slivers):
    """"ready", "failed" (all settled, some failed) or None (still going)."""
    states = [s.get("geni_operational_status") for s in slivers]
    if not states or any(s not in READY and s != FAILED for s in states):
        return None
    return "failed" if FAILED in states else "ready"


def bar(done, total, width=20):
    filled = int(width * done / total) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class Progress:
    """Shows successive Status answers: redrawn in a terminal, changes otherwise."""

    def __init__(self, out, name, tty):
        self.out = out
        self.name = name
        self.tty = tty
        self.drawn = 0
        self.last = {}

    def lines(self, slivers, names, elapsed, now):
        ready = sum(1 for s in slivers if s.get("geni_operational_status") in READY)
        head = (f"{self.name}: {bar(ready, len(slivers))} {ready}/{len(slivers)} ready "
                f"({counted(s.get('geni_operational_status') for s in slivers)}), "
                f"{span(elapsed)}")
        rows = [head]
        width = max([len(names.get(s["geni_sliver_urn"], "")) for s in slivers] + [8])
        for s in slivers:
            label = names.get(s["geni_sliver_urn"]) or s["geni_sliver_urn"].rsplit("+", 1)[-1]
            state = short_state(s.get("geni_operational_status"))
            alloc = short_state(s.get("geni_allocation_status"))
            row = f"  {label.ljust(width)}  {state.ljust(12)} {alloc.ljust(12)}"
            if s.get("geni_expires"):
                row += f" expires {relative(_time(s['geni_expires']), now)}"
            if s.get("geni_error"):
                row += f"  ! {s['geni_error']}"
            rows.append(row.rstrip())
        return rows

    def show(self, slivers, names, elapsed, now):
        if self.tty:
            lines = self.lines(slivers, names, elapsed, now)
            if self.drawn:
                self.out.write(f"\x1b[{self.drawn}F")
            for line in lines:
                self.out.write("\x1b[2K" + line + "\n")
            self.drawn = len(lines)
        else:
            for s in slivers:
                urn = s["geni_sliver_urn"]
                state = s.get("geni_operational_status")
                if self.last.get(urn) != state:
                    label = names.get(urn) or urn
                    before = self.last.get(urn)
                    change = f"{short_state(before)} -> " if before else ""
                    error = f"  ! {s['geni_error']}" if s.get("geni_error") else ""
                    self.out.write(f"{span(elapsed):>6}  {label}: {change}"
                                   f"{short_state(state)}{error}\n")
                    self.last[urn] = state
        self.out.flush()


def _time(value):
    """A sliver's geni_expires (an RFC 3339 string on the wire) as a datetime."""
    return value if isinstance(value, datetime.datetime) else parse_time(str(value))


def follow(status, describe, progress, *, interval=2.0, timeout=600.0, sleep=time.sleep,
           clock=time.monotonic, now=None):
    """Poll ``status()`` (a list of sliver_info) until settled; an exit status.

    ``describe()`` gives the manifest (for names); ``sleep``/``clock`` are
    injectable for tests.
    """
    now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
    start = clock()
    names = {}
    while True:
        slivers = status()
        if any(s["geni_sliver_urn"] not in names for s in slivers):
            names.update(client_ids(describe()))
        progress.show(slivers, names, clock() - start, now())
        result = verdict(slivers)
        if result == "ready":
            return EXIT_READY
        if result == "failed":
            return EXIT_FAILED
        if not slivers:
            progress.out.write("no slivers in this slice at the AM: allocate and provision "
                               "first\n")
            return EXIT_FAILED
        if clock() - start >= timeout:
            progress.out.write(f"timed out after {span(timeout)}; the AM still works on it "
                               "(gam wait again, or gam status)\n")
            return EXIT_TIMEOUT
        sleep(interval)


# ---------------------------------------------------------------- the command

def _read(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read the {what} {path}: {e.strerror}") from None


def connection(args):
    """``(AMClient, slice URN, credential XML)`` from ``--dir`` or the explicit options."""
    summary = {}
    if args.dir or not (args.am and args.cert and args.key):
        path = Layout.at(args.dir).summary_file
        if not os.path.exists(path):
            raise UsageError(f"{path} does not exist: start 'gam quickstart"
                             + (f" --dir {args.dir}" if args.dir else "") + "' first, or "
                             "pass --am URL --cert FILE --key FILE --credential FILE")
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    ex = summary.get("experimenter", {})
    url = args.am or summary.get("am_url")
    cert, key = args.cert or ex.get("cert"), args.key or ex.get("key")
    trust = args.trust_root or summary.get("trust_root")
    name = args.slice
    credential_path = args.credential
    if credential_path is None and name in (ex.get("slice_name"), ex.get("slice_urn")):
        credential_path = ex.get("slice_credential")
    if credential_path is None:
        raise UsageError(f"no slice credential for {name}: pass --credential FILE (e.g. "
                         "from 'gam credential slice NAME --user USER -o FILE')")
    xml = _read(credential_path, "slice credential")
    try:
        target = str(parse_credential(xml).top.target_urn)
    except Exception as e:
        raise UsageError(f"{credential_path} is not a credential that can be read: {e}") from None
    try:
        urn = str(URN.parse(name, expect_type="slice")) if name.lower().startswith("urn:") \
            else None
    except URNError as e:
        raise UsageError(str(e)) from None
    if urn is None:
        urn = target
        if URN.parse(target).name.lower() != name.lower():
            raise UsageError(f"the credential {credential_path} is for {target}, not for a "
                             f"slice named {name}")
    elif URN.parse(urn) != URN.parse(target):
        raise UsageError(f"the credential {credential_path} is for {target}, not {urn}")
    try:
        am = AMClient(url, cert=cert, key=key, trust_root=trust)
    except (OSError, ssl.SSLError) as e:
        raise UsageError(f"cannot use the certificate {cert}, key {key}"
                         + (f" and trust root {trust}" if trust else "")
                         + f": {e}; pass the files you connect with (--cert, --key)") from None
    return am, urn, xml


def cmd_wait(args):
    try:
        am, urn, xml = connection(args)
    except UsageError as e:
        print(f"gam wait: {e}", file=sys.stderr)
        return EXIT_USAGE
    if not am.checks_server:
        print("gam wait: not checking the AM's certificate (no --trust-root given)",
              file=sys.stderr)
    creds = [credential_struct(xml)]

    def status():
        return am.call("Status", [urn], creds, {})["geni_slivers"]

    def describe():
        return am.call("Describe", [urn], creds, {"geni_rspec_version": V3})["geni_rspec"]

    tty = sys.stdout.isatty() if args.progress == "auto" else args.progress == "tty"
    progress = Progress(sys.stdout, URN.parse(urn).name, tty)
    try:
        code = follow(status, describe, progress, interval=args.interval, timeout=args.timeout)
    except AMCallError as e:
        print(f"gam wait: the AM refused: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ssl.SSLError) as e:
        print(f"gam wait: cannot reach the AM at {am.url}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (xmlrpc.client.ProtocolError, xmlrpc.client.Fault, http.client.HTTPException) as e:
        print(f"gam wait: {am.url} did not answer as an AM API v3 server does: {e}; check "
              "the URL (it ends in /am/3.0)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    if code == EXIT_READY:
        print(f"{URN.parse(urn).name}: every sliver is ready")
    elif code == EXIT_FAILED:
        print(f"{URN.parse(urn).name}: some slivers failed (see above); "
              "'gam slice show' has the details")
    return code


def add_parser(commands):
    p = commands.add_parser(
        "wait", help="follow a slice's provisioning until every sliver is ready or failed",
        description="Poll the AM's Status over TLS (as the experimenter) until every sliver "
                    "of SLICE is geni_ready or geni_failed, showing progress. With --dir "
                    "(or by default) it uses the quickstart's experimenter and AM. Exit "
                    "status: 0 ready, 1 failed, 2 error, 3 timed out.")
    p.add_argument("slice", metavar="SLICE", help="the slice's name or URN")
    p.add_argument("--dir", help="a quickstart state directory (default: "
                                 "/var/lib/gam/quickstart unless --am/--cert/--key are given)")
    p.add_argument("--am", metavar="URL", help="the AM's URL (AM API v3)")
    p.add_argument("--cert", help="the experimenter's certificate chain (PEM)")
    p.add_argument("--key", help="the experimenter's private key (PEM)")
    p.add_argument("--credential", metavar="FILE", help="the slice credential (XML)")
    p.add_argument("--trust-root", metavar="FILE",
                   help="check the AM's certificate against this root (PEM)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between polls (2)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many "
                                                                "seconds (600)")
    p.add_argument("--progress", choices=("auto", "tty", "lines"), default="auto",
                   help="redraw in place (tty) or print changes (lines); default: auto")
    p.set_defaults(func=cmd_wait)
    return p


__all__ = ["follow", "verdict", "client_ids", "Progress", "cmd_wait", "add_parser"]
