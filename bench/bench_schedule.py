#!/usr/bin/env python3
"""How long does one booking take as the schedule grows?

Fills a fresh SQLite database (file, WAL, as gam runs it) with 1k, 10k
and 100k reservations spread over 1,000 resources (900 bounded hosts,
90 core pools, 10 VLAN pools) and over time (past and future), then
times allocate-like bookings: one transaction (BEGIN IMMEDIATE ... COMMIT)
that books a host, 2 cores of a pool and a VLAN tag, all or nothing,
exactly as ``DBConnector.run(thd_reserve, ...)`` does minus the thread
hop; and ``thd_find_free`` over all 900 hosts (an unbound node). Prints
median / p95 / max per size. Target: a booking under 20 ms at 100k and
growth no faster than log n.

    python bench/bench_schedule.py [--sizes 1000 10000 100000] [--runs 300]
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from gam.db.engine import make_engine  # noqa: E402
from gam.db.migrate import thd_upgrade  # noqa: E402
from gam.db.model import reservations, resources  # noqa: E402
from gam.schedule import (  # noqa: E402
    Bounded, Pool, ResourceSpec, VlanTag, thd_define_resources, thd_find_free, thd_reserve)

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
SLOT = timedelta(hours=1)
HOSTS, POOLS, VLANS = 900, 90, 10
POOL_CAPACITY = 64
VLAN_RANGE = (1000, 1999)


def inventory():
    specs = [ResourceSpec(f"host{i:04d}", "bounded") for i in range(HOSTS)]
    specs += [ResourceSpec(f"cores{i:03d}", "pool", POOL_CAPACITY, "cores")
              for i in range(POOLS)]
    specs += [ResourceSpec(f"vlan{i:02d}", "vlan", ranges=(VLAN_RANGE,)) for i in range(VLANS)]
    return specs


def fill(engine, total, rng):
    """``total`` reservations, ``total / 1000`` per resource, one per hourly
    slot, each 5-30 min long from the slot's start, centred on NOW."""
    per_resource = max(total // (HOSTS + POOLS + VLANS), 1)
    first_slot = -(per_resource // 2)
    with engine.begin() as conn:
        thd_define_resources(conn, inventory(), NOW)
        rows = conn.execute(sa.select(resources.c.id, resources.c.kind)).all()
        batch = []
        for res in rows:
            for j in range(per_resource):
                start = NOW + (first_slot + j) * SLOT
                end = start + timedelta(minutes=rng.randint(5, 30))
                amount = rng.randint(1, POOL_CAPACITY // 2) if res.kind == "pool" else 1
                tag = rng.randint(*VLAN_RANGE) if res.kind == "vlan" else None
                batch.append(dict(resource_id=res.id, holder=f"urn:fill:{res.id}:{j}",
                                  amount=amount, tag=tag, start_at=start, end_at=end,
                                  created=NOW))
        conn.execute(sa.insert(reservations), batch)
        conn.execute(sa.update(resources).values(max_span_s=30 * 60))
        count = conn.execute(sa.select(sa.func.count()).select_from(reservations)).scalar()
        conn.exec_driver_sql("ANALYZE")
    return count, first_slot, per_resource


def bench(total, runs, rng, folder):
    engine = make_engine(f"sqlite:///{os.path.join(folder, f'bench{total}.db')}")
    with engine.begin() as conn:
        thd_upgrade(conn)
    count, first_slot, slots = fill(engine, total, rng)
    # Book in the free second half of random slots; distinct (host, slot) pairs.
    pairs = rng.sample([(h, s) for h in range(HOSTS) for s in range(slots)],
                       min(runs, HOSTS * slots))
    times = []
    for n, (host, slot) in enumerate(pairs):
        start = NOW + (first_slot + slot) * SLOT + timedelta(minutes=35)
        claims = [Bounded(f"host{host:04d}"), Pool(f"cores{host % POOLS:03d}", 2),
                  VlanTag(f"vlan{host % VLANS:02d}")]
        t0 = time.perf_counter()
        with engine.begin() as conn:
            thd_reserve(conn, f"urn:bench:{n}", claims, start, start + timedelta(minutes=20),
                        NOW)
        times.append((time.perf_counter() - t0) * 1000)
    # An unbound node: which of all the hosts are free for a slot?
    candidates = [Bounded(f"host{i:04d}") for i in range(HOSTS)]
    search = []
    for _ in range(20):
        start = NOW + (first_slot + rng.randrange(slots)) * SLOT + timedelta(minutes=10)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            thd_find_free(conn, candidates, start, start + timedelta(minutes=20))
        search.append((time.perf_counter() - t0) * 1000)
    engine.dispose()
    return count, _stats(times), _stats(search)


def _stats(times):
    times = sorted(times)
    return statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)], times[-1]


def show_plan(folder):
    engine = make_engine(f"sqlite:///{os.path.join(folder, 'plan.db')}")
    with engine.begin() as conn:
        thd_upgrade(conn)
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id, holder, start_at, end_at, amount, tag "
            "FROM reservations WHERE resource_id = 1 AND start_at >= '2030' "
            "AND start_at < '2031' AND end_at > '2030'").all()
    engine.dispose()
    return "; ".join(row[-1] for row in plan)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        print(f"overlap query plan: {show_plan(folder)}")
        print(f"reserve = one transaction booking host + 2 cores + VLAN tag ({args.runs} runs);"
              f" find_free = which of {HOSTS} hosts are free (20 runs); times in ms")
        print(f"{'reservations':>12} | {'reserve median':>14} {'p95':>7} {'max':>7} |"
              f" {'find_free median':>16} {'p95':>7} {'max':>7}")
        for size in args.sizes:
            count, reserve, search = bench(size, args.runs, rng, folder)
            print(f"{count:>12} | {reserve[0]:>14.3f} {reserve[1]:>7.3f} {reserve[2]:>7.3f} |"
                  f" {search[0]:>16.3f} {search[1]:>7.3f} {search[2]:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
