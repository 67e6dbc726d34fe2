"""A whole experiment against the quickstart, as any AM API v3 client makes it.

    python3 -m gam.quickstart.demo [--dir DIR]            # allocate, provision, wait, logins
    python3 -m gam.quickstart.demo [--dir DIR] --delete   # delete the slice's slivers

It reads the quickstart's ``summary.json`` for the AM's URL and the
experimenter's files, then calls the AM over TLS with the experimenter's
certificate and slice credential (see :mod:`gam.ops.amclient`: xmlrpc.client
and ssl): Allocate the two-node request, Provision with the experimenter's
ssh key as ``geni_users``, poll Status until every sliver is ready (as
``gam wait`` does), and print an ssh command for each node's login.
"""
import argparse
import json
import shlex
import sys

from gam.ops.amclient import AMCallError, AMClient, credential_struct
from gam.ops.wait import EXIT_READY, Progress, follow
from gam.quickstart.layout import DEFAULT_DIR, Layout
from gam.safexml import parse_untrusted

V3 = {"type": "GENI", "version": "3"}
RSPEC_NS = "{http://www.geni.net/resources/rspec/3}"


def logins(manifest):
    """``[(client_id, username, hostname, port)]`` of the manifest's ssh logins."""
    out = []
    for node in parse_untrusted(manifest, what="manifest").iter(RSPEC_NS + "node"):
        for login in node.iter(RSPEC_NS + "login"):
            out.append((node.get("client_id"), login.get("username"), login.get("hostname"),
                        int(login.get("port") or 22)))
    return out


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m gam.quickstart.demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=DEFAULT_DIR, help="the quickstart's state directory")
    parser.add_argument("--delete", action="store_true", help="delete the slice's slivers")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for ready")
    args = parser.parse_args(argv)
    with open(Layout.at(args.dir).summary_file, encoding="utf-8") as f:
        summary = json.load(f)
    ex = summary["experimenter"]
    am = AMClient(summary["am_url"], cert=ex["cert"], key=ex["key"],
                  trust_root=summary["trust_root"])
    slice_urn = ex["slice_urn"]
    creds = [credential_struct(_read(ex["slice_credential"]))]
    try:
        if args.delete:
            gone = am.call("Delete", [slice_urn], creds, {})
            print(f"deleted {len(gone)} slivers of {slice_urn}")
            return 0
        print(f"Allocate {ex['rspec']} in {slice_urn} at {summary['am_url']}")
        am.call("Allocate", slice_urn, creds, _read(ex["rspec"]), {})
        users = [{"urn": ex["user_urn"], "keys": [_read(ex["ssh_public_key"]).strip()]}]
        print(f"Provision, with {ex['user']}'s ssh key")
        am.call("Provision", [slice_urn], creds, {"geni_users": users, "geni_rspec_version": V3})
        code = follow(lambda: am.call("Status", [slice_urn], creds, {})["geni_slivers"],
                      lambda: am.call("Describe", [slice_urn], creds,
                                      {"geni_rspec_version": V3})["geni_rspec"],
                      Progress(sys.stdout, ex["slice_name"], sys.stdout.isatty()),
                      timeout=args.timeout)
        if code != EXIT_READY:
            print("not every sliver became ready; see 'gam slice show' for why")
            return code
        manifest = am.call("Describe", [slice_urn], creds, {"geni_rspec_version": V3})
        print("Ready. Log in:")
        for client_id, user, host, port in logins(manifest["geni_rspec"]):
            print(f"  {client_id}: ssh -i {shlex.quote(ex['ssh_key'])} -p {port} {user}@{host}")
        where = "" if Layout.at(args.dir) == Layout.at(DEFAULT_DIR) else \
            f" --dir {shlex.quote(args.dir)}"
        print(f"Delete it: python3 -m gam.quickstart.demo{where} --delete")
        return 0
    except AMCallError as e:
        print(f"the AM said no: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
