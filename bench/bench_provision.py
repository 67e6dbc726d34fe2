"""How long it takes to provision a LAN of N nodes with the namespace driver.

Run as root:  python3 bench/bench_provision.py [--sizes 1,10,50] [--repeat 1]
              [--layers driver,am] [--cpus 0,1]

Two layers, each on its own host-object prefix and state folder:

``driver``: for each size it provisions one LAN (capacity 100 Mbit/s) and
N nodes with one experimenter each through the Drivers manager, until every
sliver is geni_ready (each node's sshd answered through its login port),
then deletes them all and checks that nothing is left.

``am``: the same through the whole AM (tests/system/support.py: TLS on
127.0.0.1, SQLite, the shipped etc/drivers/netns.yaml): a client calls
Allocate and Provision over TLS, polls Status every 0.2 s until every
sliver is geni_ready, then calls Delete.

Prints wall times and the ratio to one node, the CPU time the bench's CPUs
spent meanwhile (everything: the AM, sshd, ip, tc...), ``busy`` (CPU time
over wall time: how many cores the work kept busy) and ``floor`` (CPU time
over the number of CPUs: the least wall time that work can take here).
When ``busy`` is close to the number of CPUs the work is parallel and
CPU-bound; ``--cpus 0`` against ``--cpus 0,1`` shows how it scales.
Target: 50 nodes in under 60 s and no more than 5x one node. Cleans up on
any exit.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer, reactor  # noqa: E402

from gam.drivers import base  # noqa: E402
from gam.drivers.config import parse_config  # noqa: E402
from gam.drivers.manager import Drivers, SliverRef  # noqa: E402
from tests.drivers.netns_support import skip_reason, snapshot  # noqa: E402
from tests.drivers.support import link_plan, make_keypair, node_plan  # noqa: E402

PREFIX = "gbn"
AM_PREFIX = "gba"
POLL = 0.2


def plans(n, user):
    lan = link_plan("lan", [(f"n{i}", f"n{i}:if0", f"10.99.{i // 250}.{i % 250 + 1}")
                            for i in range(n)], capacity_kbps=100000)
    lan = base.LinkPlan(**{**lan.__dict__, "ends": tuple(
        base.LinkEnd(e.node_client_id, e.interface_client_id, e.address, "255.255.0.0")
        for e in lan.ends)})
    nodes = [node_plan(f"n{i}", [(f"n{i}:if0", "lan", f"10.99.{i // 250}.{i % 250 + 1}")],
                       users=[user]) for i in range(n)]
    nodes = [base.NodePlan(**{**p.__dict__, "interfaces": tuple(
        base.InterfacePlan(i.client_id, i.link_sliver, i.address, "255.255.0.0")
        for i in p.interfaces)}) for p in nodes]
    return lan, nodes


CPUS = sorted(os.sched_getaffinity(0))


def cpus_text():
    return f"{len(CPUS)} of {os.cpu_count()} CPUs ({','.join(map(str, CPUS))})"


def host_cpu():
    """CPU seconds the bench's CPUs have spent busy, from /proc/stat."""
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in CPUS:
                fields = [int(x) for x in fields]
                busy += sum(fields) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


async def one_size(drivers, n, user):
    lan, nodes = plans(n, user)
    start, cpu = time.monotonic(), host_cpu()
    out = await drivers.provision([lan], nodes, lambda outcome: None)
    took = time.monotonic() - start
    cpu = host_cpu() - cpu
    bad = {u: o.error for u, o in out.items() if o.state != base.READY}
    refs = [SliverRef(p.sliver_urn, p.sliver_type, out[p.sliver_urn].data) for p in nodes]
    refs.append(SliverRef(lan.sliver_urn, "link", out[lan.sliver_urn].data))
    start = time.monotonic()
    gone = await drivers.delete(refs)
    deleted = time.monotonic() - start
    left = {u: o.error for u, o in gone.items() if o.error}
    return took, cpu, deleted, bad, left


async def main(args):
    reason = skip_reason()
    if reason:
        print(f"bench_provision: cannot run: {reason}")
        return 1
    status = 0
    if "driver" in args.layers:
        status = await driver_figures(args)
    if "am" in args.layers:
        status = await am_figures(args) or status
    return status


async def driver_figures(args):
    state_dir = tempfile.mkdtemp(prefix="gam-bench-")
    cfg = parse_config({"pool_size": args.pool, "handlers": {
        "node": {"class": "gam.drivers.netns.NetnsNodeHandler", "resource_types": ["namespace"],
                 "prefix": PREFIX, "state_dir": state_dir, "retries": 0,
                 "timeouts": {"create": 120, "delete": 60},
                 "login": {"bind": "127.0.0.1", "ports": "0"}},
        "link": {"class": "gam.drivers.netns.NetnsLinkHandler", "resource_types": ["link"],
                 "prefix": PREFIX, "retries": 0}}})
    drivers = Drivers(cfg)
    await drivers.start()
    before = snapshot(PREFIX, state_dir)
    _, pub = make_keypair()
    user = base.User("urn:publicid:IDN+gam.bench+user+bench", "bench", (pub,))
    status = 0
    try:
        print(f"namespace driver, pool_size {args.pool}, {cpus_text()}")
        print(f"{'nodes':>6} {'provision s':>12} {'per node s':>11} {'x one node':>11} "
              f"{'CPU s':>7} {'busy':>5} {'floor s':>8} {'delete s':>9}")
        base_time = None
        for n in args.sizes:
            for _ in range(args.repeat):
                took, cpu, deleted, bad, left = await one_size(drivers, n, user)
                base_time = base_time or took
                print(f"{n:>6} {took:>12.2f} {took / n:>11.3f} {took / base_time:>11.1f} "
                      f"{cpu:>7.2f} {cpu / took:>5.1f} {cpu / len(CPUS):>8.2f} "
                      f"{deleted:>9.2f}")
                if bad or left:
                    status = 1
                    print(f"  failed: {bad or left}")
        after = snapshot(PREFIX, state_dir)
        print("nothing left after delete" if after == before else f"LEFT OVER: {after}")
        status = status or int(after != before)
    finally:
        await drivers.clean_restart([])
        await drivers.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    return status


# -- through the whole AM ------------------------------------------------------

def lan_request(n):
    """One LAN of ``n`` nodes (at most 250) at 100 Mbit/s, 10.98.0.0/24."""
    from tests.system.support import gnode, link, rspec

    if n > 250:
        raise SystemExit("the AM bench puts at most 250 nodes on its /24 LAN")
    nodes = [gnode(f"n{i}", [(f"n{i}:if0", f"10.98.0.{i + 1}")]) for i in range(n)]
    refs = [f"n{i}:if0" for i in range(n)]
    lan = link("lan", *refs).replace(
        "<link_type", f'<property source_id="{refs[0]}" dest_id="{refs[-1]}" '
                      'capacity="100000"/><link_type')
    return rspec(*nodes, lan)


async def am_one_size(am, client, n, users, name):
    from twisted.internet import task
    from tests.system.support import V3, READY

    urn, creds = am.slice_urn(name), am.credentials(name)
    request = lan_request(n)
    start, cpu = time.monotonic(), host_cpu()

    async def call(method, *params):
        envelope = await client(method, *params)
        if envelope["code"]["geni_code"] != 0:
            raise RuntimeError(f"{method}: {envelope['output']}")
        return envelope["value"]
    await call("Allocate", urn, creds, request, {})
    allocated = time.monotonic() - start
    await call("Provision", [urn], creds, {"geni_rspec_version": V3, "geni_users": users})
    polls, bad = 0, {}
    deadline = start + 60 + 10 * n
    while True:
        slivers = (await call("Status", [urn], creds, {}))["geni_slivers"]
        polls += 1
        states = {s["geni_operational_status"] for s in slivers}
        if states <= {READY, "geni_failed"}:
            bad = {s["geni_sliver_urn"]: s["geni_error"] for s in slivers
                   if s["geni_operational_status"] != READY}
            break
        if time.monotonic() > deadline:
            bad = {"timeout": f"not ready after {deadline - start:.0f} s: {sorted(states)}"}
            break
        await task.deferLater(reactor, POLL, lambda: None)
    took = time.monotonic() - start
    cpu = host_cpu() - cpu
    start = time.monotonic()
    deleted = await call("Delete", [urn], creds, {})
    left = {s["geni_sliver_urn"]: s["geni_error"] for s in deleted if s["geni_error"]}
    return allocated, took, cpu, time.monotonic() - start, polls, bad, left


async def am_figures(args):
    from tests.system.support import RealAM

    directory = tempfile.mkdtemp(prefix="gam-bench-am-")
    biggest = max(args.sizes)
    inventory = {"authority": "gam.test",
                 "hosts": [{"name": "big1", "cores": biggest + 4,
                            "memory_mb": 1024 * (biggest + 4)}]}
    am = RealAM(directory, AM_PREFIX, inventory=inventory)
    before = am.snapshot()
    _, pub = make_keypair()
    users = [{"urn": str(am.pki.alice.urn), "keys": [pub]}]
    status = run = 0
    try:
        await am.start()
        client = am.client()
        print(f"\nwhole AM over TLS (Allocate + Provision, Status every {POLL} s until "
              f"geni_ready), etc/drivers/netns.yaml, {cpus_text()}")
        print(f"{'nodes':>6} {'allocate s':>11} {'ready s':>8} {'per node s':>11} "
              f"{'x one node':>11} {'CPU s':>7} {'busy':>5} {'floor s':>8} {'polls':>6} "
              f"{'delete s':>9}")
        base_time = None
        for n in args.sizes:
            for _ in range(args.repeat):
                run += 1
                allocated, took, cpu, deleted, polls, bad, left = await am_one_size(
                    am, client, n, users, f"bench{run}")
                base_time = base_time or took
                print(f"{n:>6} {allocated:>11.2f} {took:>8.2f} {took / n:>11.3f} "
                      f"{took / base_time:>11.1f} {cpu:>7.2f} {cpu / took:>5.1f} "
                      f"{cpu / len(CPUS):>8.2f} {polls:>6} {deleted:>9.2f}")
                if bad or left:
                    status = 1
                    print(f"  failed: {bad or left}")
        after = am.snapshot()
        print("nothing left after Delete" if after == before else f"LEFT OVER: {after}")
        status = status or int(after != before)
    finally:
        problems = await am.tear_down([f"bench{i}" for i in range(1, run + 1)]
                                      if am.started else [])
        if problems:
            print(f"cleanup: {problems}")
        shutil.rmtree(directory, ignore_errors=True)
    return status


def run():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,10,50",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pool", type=int, default=16)
    parser.add_argument("--cpus", type=lambda s: {int(x) for x in s.split(",")},
                        help="run the bench and everything it starts on these CPUs only "
                             "(e.g. 0 or 0,1): how the times scale with cores")
    parser.add_argument("--layers", default="driver,am",
                        type=lambda s: [x.strip() for x in s.split(",")],
                        help="which figures: driver (the Drivers manager), am (the whole AM)")
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, args.cpus)   # children (sshd, ip, tc...) inherit it
        CPUS[:] = sorted(os.sched_getaffinity(0))
    result = {}

    def done(status):
        result["status"] = status
        reactor.stop()

    def failed(f):
        f.printTraceback()
        done(2)

    reactor.callWhenRunning(
        lambda: defer.ensureDeferred(main(args)).addCallbacks(done, failed))
    reactor.run()
    return result.get("status", 2)


if __name__ == "__main__":
    sys.exit(run())
