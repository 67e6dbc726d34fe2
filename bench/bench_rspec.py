#!/usr/bin/env python3
"""Time the RSpec code: advertisement, request parsing, manifest building.

Prints figures only (no pass/fail). Run from the repository root:

    python bench/bench_rspec.py [--hosts 10000] [--nodes 1000] [--repeat 5]

The target for the advertisement of 10,000 hosts is well under 0.5 s.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from gam.inventory import Inventory  # noqa: E402
from gam.rspec.advertisement import (  # noqa: E402
    build_advertisement, build_compressed_advertisement)
from gam.rspec.manifest import (  # noqa: E402
    InterfacePart, LinkInterfacePart, LinkPart, Login, NodePart, build_manifest)
from gam.rspec.request import parse_request  # noqa: E402
from gam.rspec.validation import validate_document  # noqa: E402


def best(fn, repeat):
    """(best seconds, result) over ``repeat`` runs."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def request_of(count):
    nodes = "".join(
        '<node client_id="n%d"><sliver_type name="default-vm"/>'
        '<interface client_id="n%d:if0"><ip address="10.%d.%d.%d" netmask="255.0.0.0"/>'
        '</interface></node>\n' % (i, i, i // 65536 % 256, i // 256 % 256, i % 256)
        for i in range(count))
    refs = "".join('<interface_ref client_id="n%d:if0"/>' % i for i in range(count))
    return ('<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">\n%s'
            '<link client_id="lan"><link_type name="lan"/>%s</link></rspec>' % (nodes, refs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    inv = Inventory.generate(args.hosts)
    busy = {"node%d" % i: False for i in range(1, args.hosts + 1, 3)}
    secs, ad = best(lambda: build_advertisement(inv, available=busy), args.repeat)
    print("advertisement, %d hosts:            %8.1f ms  (%.1f MB)"
          % (args.hosts, secs * 1000, len(ad) / 1e6))
    secs, _ = best(lambda: build_advertisement(inv, available=busy, available_only=True),
                   args.repeat)
    print("advertisement, available only:      %8.1f ms" % (secs * 1000))
    secs, packed = best(lambda: build_compressed_advertisement(inv, available=busy),
                        args.repeat)
    print("advertisement, geni_compressed:     %8.1f ms  (%.2f MB)"
          % (secs * 1000, len(packed) / 1e6))
    secs, errors = best(lambda: validate_document(ad, "advertisement"), 1)
    print("  (validating it against ad.xsd:    %8.1f ms, %d errors)" % (secs * 1000, len(errors)))

    document = request_of(args.nodes)
    secs, request = best(lambda: parse_request(document), args.repeat)
    print("parse_request, %d nodes + 1 LAN:     %8.1f ms  (%.2f MB)"
          % (args.nodes, secs * 1000, len(document) / 1e6))

    parts = [NodePart(n.xml, "urn:publicid:IDN+gam.localhost+sliver+%d" % i,
                      inv.hosts[i % len(inv.hosts)].component_id, inv.component_manager_id,
                      logins=(Login("alice", "node.gam.localhost"),),
                      interfaces=(InterfacePart(n.interfaces[0].client_id,
                                                mac_address="02:00:00:00:00:01"),))
             for i, n in enumerate(request.nodes)]
    link = request.links[0]
    parts.append(LinkPart(link.xml, "urn:publicid:IDN+gam.localhost+sliver+lan", 1000,
                          tuple(LinkInterfacePart(r) for r in link.interface_refs)))
    secs, manifest = best(lambda: build_manifest(parts), args.repeat)
    print("build_manifest, %d nodes + 1 LAN:    %8.1f ms  (%.2f MB)"
          % (args.nodes, secs * 1000, len(manifest) / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
