#!/usr/bin/env python3
"""The AM's speed and size: calls/s over TLS, ListResources, Allocate, memory.

Prints:
  Status / ListResources calls per second over TLS with client certificates,
      16 concurrent clients (keep-alive connections, slice credential each
      call), the AM in its own process (default 4-host inventory)
  ListResources with 10,000 hosts: building the advertisement afresh (usage
      from the schedule + RSpec) in the delegate, and one whole call over TLS
      (advertisement reuse off)
  Allocate of one bound node through the delegate (parse, check, one
      transaction booking host + cores + memory + sliver row, manifest) with
      1,000 / 10,000 / 100,000 reservations already in the schedule
  resident memory of the AM process started on a database holding 100,000
      provisioned slivers, after its start-up recovery and a few calls

The drivers behind the AM are the real manager over gam.drivers.fake's
FakeHandler (nothing is provisioned for real: the figures are the AM's).

Usage: python3 bench/bench_am.py [--seconds N] [--clients N] [--only NAME...]
"""
import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xmlrpc.client
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

UTC = timezone.utc
V3 = {"type": "GENI", "version": "3"}
FIGURES = ("throughput", "listresources", "allocate", "memory")


# --------------------------------------------------------------- the AM process

def am_config(directory, files, *, hosts=4, ttl=5, port=0):
    inventory = {"authority": "gam.test"}
    if hosts != 4:
        inventory["hosts"] = [{"name": f"node{i}", "cores": 8, "memory_mb": 16384}
                              for i in range(1, hosts + 1)]
    return {
        "am": {"host": "127.0.0.1", "port": port, "urn": "urn:publicid:IDN+gam.test+authority+am",
               "state_dir": os.path.join(directory, "var")},
        "tls": {"certificate": files["am_cert"], "key": files["am_key"],
                "trust_roots": files["trust_roots"]},
        "database": {"pool_size": 4},
        "limits": {"advertisement_ttl": ttl, "expiry_interval": 60},
        "inventory": inventory,
    }


def fake_drivers(reactor):
    """The drivers manager over FakeHandlers that, after a restart, find
    every live sliver still there (as real substrates usually do)."""
    from gam.drivers.config import parse_config
    from gam.drivers.fake import FakeHandler
    from gam.drivers.manager import Drivers

    class StillThere(FakeHandler):
        async def clean_restart(self, live):
            return []
    module = sys.modules[__name__]
    module.StillThere = StillThere
    StillThere.__module__ = __name__
    handler = f"{__name__}.StillThere"
    return Drivers(parse_config({"handlers": {
        "node": {"class": handler, "resource_types": ["default-vm", "raw-pc"]},
        "link": {"class": handler, "kind": "link", "resource_types": ["link"]}}}),
        reactor=reactor)


def serve(args):
    """Run an AM until SIGTERM; write its port to ``<dir>/port``."""
    from twisted.internet import defer, reactor

    from gam.aggregate.service import AMService
    from gam.config import parse_config
    with open(os.path.join(args.dir, "config.json")) as f:
        data = json.load(f)
    config = parse_config(data, path=os.path.join(args.dir, "gam.yaml"), base_dir=args.dir)
    service = AMService(config, fake_drivers(reactor), reactor=reactor)

    async def start():
        await service.start()
        with open(os.path.join(args.dir, "port.tmp"), "w") as f:
            f.write(str(service.port_number))
        os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))

    def failed(f):
        f.printTraceback()
        reactor.stop()
    reactor.callWhenRunning(lambda: defer.Deferred.fromCoroutine(start()).addErrback(failed))
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: defer.Deferred.fromCoroutine(service.stop()))
    reactor.run()


class AMProcess:
    def __init__(self, directory, config):
        self.dir = directory
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(config, f)
        port_file = os.path.join(directory, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.proc = subprocess.Popen([sys.executable, __file__, "serve", "--dir", directory])
        deadline = time.monotonic() + 300
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the AM process did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        self.url = f"https://127.0.0.1:{self.port}/am/3.0"

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --------------------------------------------------------------- clients

def client_context(files, user="alice"):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cafile=files["root_pem"])
    cert, key = files["users"][user]
    ctx.load_cert_chain(cert, key)
    return ctx


def proxy(url, files):
    return xmlrpc.client.ServerProxy(
        url, transport=xmlrpc.client.SafeTransport(context=client_context(files)))


def clients(args):
    """Run ``--threads`` clients calling ``--method`` for ``--seconds``; print the count."""
    with open(os.path.join(args.dir, "files.json")) as f:
        files = json.load(f)
    with open(os.path.join(args.dir, "call.json")) as f:
        call = json.load(f)
    params = call[args.method]
    counts = [0] * args.threads
    errors = []
    start = threading.Barrier(args.threads + 1)
    stop_at = [0.0]

    def run(i):
        p = proxy(args.url, files)
        getattr(p, args.method)(*params)          # connect and warm up
        start.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            answer = getattr(p, args.method)(*params)
            if answer["code"]["geni_code"] != 0:
                errors.append(answer["output"])
                break
            n += 1
        counts[i] = n
    threads = [threading.Thread(target=run, args=(i,)) for i in range(args.threads)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 1e9
    start.wait()
    t0 = time.perf_counter()
    stop_at[0] = t0 + args.seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    print(json.dumps({"calls": sum(counts), "seconds": elapsed, "errors": errors[:3]}))


def run_clients(directory, url, method, total, seconds, processes):
    per = [total // processes + (1 if i < total % processes else 0) for i in range(processes)]
    procs = [subprocess.Popen([sys.executable, __file__, "clients", "--dir", directory,
                               "--url", url, "--method", method, "--threads", str(n),
                               "--seconds", str(seconds)], stdout=subprocess.PIPE)
             for n in per if n]
    calls, elapsed, errors = 0, 0.0, []
    for p in procs:
        out = json.loads(p.communicate()[0])
        calls += out["calls"]
        elapsed = max(elapsed, out["seconds"])
        errors += out["errors"]
    if errors:
        raise SystemExit(f"{method} failed: {errors[0]}")
    return calls / elapsed


# --------------------------------------------------------------- set-up

def make_pki(directory, slice_name="bench"):
    from tests.pki import pki, struct
    p = pki()
    written = p.write_files(directory)
    files = {"am_cert": written.am_cert, "am_key": written.am_key,
             "trust_roots": written.trust_roots_dir, "users": written.users,
             "root_pem": os.path.join(written.trust_roots_dir, "gam.test.pem")}
    creds = [struct(p.slice_credential(p.alice, slice_name))]
    user_creds = [struct(p.user_credential(p.alice))]
    with open(os.path.join(directory, "files.json"), "w") as f:
        json.dump(files, f)
    return files, creds, user_creds, str(p.slice_urn(slice_name))


def request(*hosts, authority="gam.test", sliver_type="default-vm"):
    nodes = "".join(
        f'<node client_id="n{i}" component_manager_id="urn:publicid:IDN+{authority}+authority+cm"'
        f' component_id="urn:publicid:IDN+{authority}+node+{h}">'
        f'<sliver_type name="{sliver_type}"/></node>' for i, h in enumerate(hosts))
    return ('<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">'
            f"{nodes}</rspec>")


# --------------------------------------------------------------- figures

def throughput(base, args):
    directory = os.path.join(base, "throughput")
    os.makedirs(os.path.join(directory, "var"))
    files, creds, user_creds, slice_urn = make_pki(directory)
    am = AMProcess(directory, am_config(directory, files))
    try:
        p = proxy(am.url, files)
        answer = p.Allocate(slice_urn, creds, request("node1", "node2"), {})
        assert answer["code"]["geni_code"] == 0, answer["output"]
        answer = p.Provision([slice_urn], creds, {})
        assert answer["code"]["geni_code"] == 0, answer["output"]
        with open(os.path.join(directory, "call.json"), "w") as f:
            json.dump({"Status": [[slice_urn], creds, {}],
                       "ListResources": [user_creds, {"geni_rspec_version": V3}]}, f)
        for method in ("Status", "ListResources"):
            rate = run_clients(directory, am.url, method, args.clients, args.seconds,
                               args.client_processes)
            print(f"{method:<14} over TLS, {args.clients} clients: {rate:8.0f} calls/s"
                  f"   (target >= 500)", flush=True)
    finally:
        am.stop()


def list_resources(base, args):
    from twisted.internet import defer, reactor, task

    from gam.aggregate.advertise import Advertiser
    from gam.aggregate.resources import resource_specs
    from gam.db.connector import DBConnector
    from gam.inventory import Inventory
    from gam.schedule import Bounded, Pool, thd_define_resources, thd_reserve

    hosts = 10_000
    inventory = Inventory.generate(hosts, authority="gam.test")
    directory = os.path.join(base, "listresources")
    os.makedirs(os.path.join(directory, "var"))

    async def in_process():
        db = DBConnector(f"sqlite:///{os.path.join(directory, 'var', 'gam.db')}", reactor)
        await db.start()
        now = datetime.now(UTC)
        await db.run(thd_define_resources, resource_specs(inventory), now)

        def book(conn):       # a quarter of the hosts busy now
            for i in range(1, hosts + 1, 4):
                thd_reserve(conn, f"urn:bench:{i}", [Bounded(f"host:node{i}"),
                                                      Pool(f"cores:node{i}", 8)],
                            now - timedelta(hours=1), now + timedelta(days=1), now)
        await db.run(book)
        ads = Advertiser(db, inventory, reactor, ttl=0)
        times = []
        for _ in range(5):
            ads.invalidate()
            t0 = time.perf_counter()
            text = await ads.advertisement(False)
            times.append(time.perf_counter() - t0)
        await db.stop()
        return statistics.median(times), len(text)

    def run():
        box = {}
        d = defer.Deferred.fromCoroutine(in_process())
        d.addBoth(lambda r: box.setdefault("r", r))
        d.addBoth(lambda _: reactor.stop())
        reactor.run()
        if isinstance(box["r"], Exception) or hasattr(box["r"], "raiseException"):
            box["r"].raiseException()
        return box["r"]
    seconds, size = run()
    print(f"ListResources, {hosts} hosts, built afresh in the delegate: "
          f"{seconds * 1000:7.1f} ms  ({size / 1e6:.1f} MB; target < 500 ms)", flush=True)
    del task

    # one whole call over TLS, advertisement reuse off
    files, creds, user_creds, _ = make_pki(directory)
    os.remove(os.path.join(directory, "var", "gam.db"))
    am = AMProcess(directory, am_config(directory, files, hosts=hosts, ttl=0))
    try:
        p = proxy(am.url, files)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            answer = p.ListResources(user_creds, {"geni_rspec_version": V3})
            times.append(time.perf_counter() - t0)
            assert answer["code"]["geni_code"] == 0, answer["output"]
        print(f"ListResources, {hosts} hosts, one call over TLS:          "
              f"{statistics.median(times) * 1000:7.1f} ms  (client included)", flush=True)
    finally:
        am.stop()


def fill_reservations(db_url, total, inventory, now):
    """``total`` reservations spread over the hosts' resources, past and future."""
    import sqlalchemy as sa

    from gam.db.engine import make_engine
    from gam.db.model import reservations, resources
    engine = make_engine(db_url)
    rng = random.Random(1)
    with engine.begin() as conn:
        ids = {row.name: row.id for row in conn.execute(sa.select(resources.c.id,
                                                                  resources.c.name))}
        names = [n for n in ids if n.startswith(("host:", "cores:", "memory:"))]
        batch = []
        for i in range(total):
            name = names[i % len(names)]
            # a week-long grid of one-hour slots starting tomorrow: never now
            start = now + timedelta(days=1, hours=rng.randrange(24 * 300))
            amount = 1
            if name.startswith("cores:"):
                amount = 1
            elif name.startswith("memory:"):
                amount = 512
            batch.append(dict(resource_id=ids[name], holder=f"urn:fill:{i}", amount=amount,
                              tag=None, start_at=start, end_at=start + timedelta(minutes=30),
                              created=now))
            if len(batch) == 20000:
                conn.execute(sa.insert(reservations), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(reservations), batch)
        conn.execute(sa.update(resources).values(
            max_span_s=sa.func.max(resources.c.max_span_s, 1800)))
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def allocate(base, args):
    from twisted.internet import defer, reactor

    from gam.aggregate.delegate import Aggregate
    from gam.config import Limits
    from gam.db.connector import DBConnector
    from gam.inventory import Inventory

    inventory = Inventory.generate(500, authority="gam.test")
    expires = datetime.now(UTC) + timedelta(days=1)

    class Auth:
        pass
    auth = Auth()
    auth.expires = expires
    from gam.auth.urn import URN
    results = []

    async def one_size(total):
        directory = os.path.join(base, f"allocate{total}")
        os.makedirs(directory)
        url = f"sqlite:///{os.path.join(directory, 'gam.db')}"
        db = DBConnector(url, reactor)
        await db.start()
        am = Aggregate(db, fake_drivers(reactor), inventory,
                       am_urn="urn:publicid:IDN+gam.test+authority+am",
                       url="https://127.0.0.1/am/3.0", limits=Limits(), reactor=reactor)
        await am.start()
        fill_reservations(url, total, inventory, datetime.now(UTC))
        times = []
        for n in range(args.allocations):
            host = f"node{n % len(inventory.hosts) + 1}"
            doc = request(host)
            t0 = time.perf_counter()
            await am.allocate(auth, URN("gam.test", "slice", f"s{n}"), doc, {})
            times.append((time.perf_counter() - t0) * 1000)
        await db.stop()
        times.sort()
        results.append((total, statistics.median(times),
                        times[max(int(len(times) * 0.95) - 1, 0)]))

    async def sizes():
        for total in (1_000, 10_000, 100_000):
            await one_size(total)

    box = {}
    d = defer.Deferred.fromCoroutine(sizes())
    d.addBoth(lambda r: box.setdefault("r", r))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    if hasattr(box["r"], "raiseException"):
        box["r"].raiseException()
    print(f"Allocate of one bound node through the delegate ({args.allocations} runs, "
          "times in ms; target < 20 ms):", flush=True)
    for total, median, p95 in results:
        print(f"  {total:>7} reservations: median {median:6.2f}  p95 {p95:6.2f}", flush=True)


def fill_slivers(db_url, total, inventory, now):
    """``total`` provisioned slivers in 1,000 slices, each with a booking."""
    import sqlalchemy as sa

    from gam.db.engine import make_engine
    from gam.db.migrate import thd_upgrade
    from gam.db.model import reservations, resources, slices, slivers
    from gam.aggregate.resources import resource_specs
    from gam.schedule import thd_define_resources
    engine = make_engine(db_url)
    with engine.begin() as conn:
        thd_upgrade(conn)
        thd_define_resources(conn, resource_specs(inventory), now)
        ids = {row.name: row.id for row in conn.execute(sa.select(resources.c.id,
                                                                  resources.c.name))}
        conn.execute(sa.insert(slices), [dict(urn=f"urn:publicid:IDN+gam.test+slice+s{i}",
                                              expires=now + timedelta(days=30),
                                              shutdown=False, created=now)
                                         for i in range(1000)])
        slice_ids = [r.id for r in conn.execute(sa.select(slices.c.id))]
        xml = ('<node xmlns="http://www.geni.net/resources/rspec/3" client_id="n" '
               'component_manager_id="urn:publicid:IDN+gam.test+authority+cm">'
               '<sliver_type name="default-vm"/></node>')
        rows, bookings = [], []
        for i in range(total):
            host = inventory.hosts[i % len(inventory.hosts)]
            urn = f"urn:publicid:IDN+gam.test+sliver+{uuid.uuid4().hex}"
            driver = {"fake": True, "host": host.name,
                      "logins": [{"username": "alice", "hostname": host.name, "port": 22}],
                      "interfaces": {}}
            rows.append(dict(
                urn=urn, slice_id=slice_ids[i % len(slice_ids)], client_id=f"n{i}",
                kind="node", resource_type="default-vm", sliver_type="default-vm",
                component_id=host.component_id, allocation_state="geni_provisioned",
                operational_state="geni_ready", error="", expires=now + timedelta(days=7),
                start_time=now, created=now, updated=now, request_xml=xml,
                data={"host": host.name, "image": "UBUNTU22-64-STD", "exclusive": False,
                      "cores": 1, "memory_mb": 1024, "interfaces": [], "driver": driver}))
            bookings.append(dict(resource_id=ids[f"cores:{host.name}"], holder=urn, amount=1,
                                 tag=None, start_at=now, end_at=now + timedelta(days=7),
                                 created=now))
            if len(rows) == 10000:
                conn.execute(sa.insert(slivers), rows)
                conn.execute(sa.insert(reservations), bookings)
                rows, bookings = [], []
        if rows:
            conn.execute(sa.insert(slivers), rows)
            conn.execute(sa.insert(reservations), bookings)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def memory(base, args):
    from gam.inventory import Inventory
    total = 100_000
    directory = os.path.join(base, "memory")
    os.makedirs(os.path.join(directory, "var"))
    files, creds, user_creds, slice_urn = make_pki(directory, "s1")
    empty = os.path.join(base, "memory-empty")
    os.makedirs(os.path.join(empty, "var"))
    make_pki(empty)
    am = AMProcess(empty, am_config(empty, files))
    try:
        p = proxy(am.url, files)
        for _ in range(3):
            p.ListResources(user_creds, {"geni_rspec_version": V3})
        print(f"resident memory of the AM with an empty database:          "
              f"{am.rss_mb():6.1f} MB", flush=True)
    finally:
        am.stop()
    hosts = 1000
    inventory = Inventory.generate(hosts, authority="gam.test", cores=200, memory_mb=1 << 20)
    config = am_config(directory, files, hosts=hosts)
    config["inventory"]["hosts"] = [{"name": h.name, "cores": 200, "memory_mb": 1 << 20}
                                    for h in inventory.hosts]
    fill_slivers("sqlite:///" + os.path.join(directory, "var", "gam.db"), total, inventory,
                 datetime.now(UTC))
    t0 = time.perf_counter()
    am = AMProcess(directory, config)
    started = time.perf_counter() - t0
    try:
        p = proxy(am.url, files)
        for _ in range(3):
            answer = p.ListResources(user_creds, {"geni_rspec_version": V3})
            assert answer["code"]["geni_code"] == 0, answer["output"]
            answer = p.Status([slice_urn], creds, {})
            assert answer["code"]["geni_code"] == 0, answer["output"]
            answer = p.Describe([slice_urn], creds, {"geni_rspec_version": V3})
            assert answer["code"]["geni_code"] == 0, answer["output"]
        print(f"resident memory of the AM with {total} slivers in the database: "
              f"{am.rss_mb():6.1f} MB  (target < 300 MB; start-up with recovery "
              f"{started:.1f} s)", flush=True)
    finally:
        am.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    c = sub.add_parser("clients")
    c.add_argument("--dir", required=True)
    c.add_argument("--url", required=True)
    c.add_argument("--method", required=True)
    c.add_argument("--threads", type=int, required=True)
    c.add_argument("--seconds", type=float, required=True)
    fig = sub.add_parser("figure")
    fig.add_argument("name", choices=FIGURES)
    fig.add_argument("--base", required=True)
    parser.add_argument("--seconds", type=float, default=5.0, help="time per throughput figure")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--allocations", type=int, default=200)
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=FIGURES)
    args = parser.parse_args()
    if args.mode == "serve":
        return serve(args)
    if args.mode == "clients":
        return clients(args)
    if args.mode == "figure":
        run = {"throughput": throughput, "listresources": list_resources,
               "allocate": allocate, "memory": memory}[args.name]
        return run(args.base, args)
    with tempfile.TemporaryDirectory(prefix="gam-bench-am-") as base:
        for name in FIGURES:
            if name in args.only:
                # each figure in a fresh process: one reactor run, a clean heap
                status = subprocess.call(
                    [sys.executable, __file__, "--seconds", str(args.seconds), "--clients",
                     str(args.clients), "--client-processes", str(args.client_processes),
                     "--allocations", str(args.allocations), "figure", name, "--base", base])
                if status:
                    raise SystemExit(f"the {name} figure failed")


if __name__ == "__main__":
    main()
