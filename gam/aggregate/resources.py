"""The inventory as the schedule sees it: resource names, claims, availability.

Each host is four schedule resources:

- ``host:<name>``: bounded, held by an exclusive sliver (the whole host);
- ``cores:<name>`` and ``memory:<name>``: pools of the host's cores and MB,
  from which shared slivers take their share. An exclusive sliver takes all
  of both as well, so an exclusive and a shared sliver can never overlap
  in time on one host, whichever came first;
- ``bandwidth:<name>``: a pool (kbit/s) of the host's experimental
  interface, from which links that ask for a capacity take it at each host
  they reach.

Links take a tag of the VLAN pool ``vlan:lan`` (the inventory's tag ranges).
"""
from gam.schedule import Bounded, Pool, ResourceSpec, VlanTag

VLAN_POOL = "vlan:lan"
BANDWIDTH_UNIT = "kbps"


def host_resource(host_name):
    return f"host:{host_name}"


def cores_resource(host_name):
    return f"cores:{host_name}"


def memory_resource(host_name):
    return f"memory:{host_name}"


def bandwidth_resource(host_name):
    return f"bandwidth:{host_name}"


def resource_specs(inventory):
    """Every schedule resource the inventory defines (for thd_define_resources)."""
    specs = []
    for host in inventory.hosts:
        specs.append(ResourceSpec(host_resource(host.name), "bounded"))
        specs.append(ResourceSpec(cores_resource(host.name), "pool", capacity=host.cores,
                                  unit="cores"))
        specs.append(ResourceSpec(memory_resource(host.name), "pool",
                                  capacity=host.memory_mb, unit="MB"))
        specs.append(ResourceSpec(bandwidth_resource(host.name), "pool",
                                  capacity=inventory.links.max_capacity_kbps,
                                  unit=BANDWIDTH_UNIT))
    specs.append(ResourceSpec(VLAN_POOL, "vlan", ranges=inventory.links.vlan_tags))
    return specs


def node_claims(host, exclusive, cores, memory_mb):
    """The claims of one node sliver on ``host``.

    Exclusive: the host itself and all its cores and memory; shared:
    ``cores`` and ``memory_mb`` of its pools.
    """
    if exclusive:
        return (Bounded(host_resource(host.name)),
                Pool(cores_resource(host.name), host.cores),
                Pool(memory_resource(host.name), host.memory_mb))
    return (Pool(cores_resource(host.name), cores),
            Pool(memory_resource(host.name), memory_mb))


def link_claims(hosts, capacity_kbps, tag=None):
    """The claims of one link sliver reaching ``hosts`` (names, distinct).

    A VLAN tag always; bandwidth at every host when the link asks for a
    capacity and leaves its host (a link inside one host uses no wire).
    """
    claims = [VlanTag(VLAN_POOL, tag)]
    if capacity_kbps and len(hosts) > 1:
        claims.extend(Pool(bandwidth_resource(name), capacity_kbps) for name in sorted(hosts))
    return tuple(claims)


def availability(inventory, used):
    """``{host name: free now}`` from ``used``: resource name -> amount in use now.

    A host is available when something could still be placed on it now: it
    is not held whole, and either one of its shared sliver types still fits
    in its free cores and memory, or nothing at all runs on it and it
    offers an exclusive type.
    """
    shared = [(t.name, t.cores, t.memory_mb) for t in inventory.sliver_types
              if not t.exclusive]
    free = {}
    for host in inventory.hosts:
        name = host.name
        if used.get("host:" + name):
            free[name] = False
            continue
        cores = used.get("cores:" + name, 0)
        memory = used.get("memory:" + name, 0)
        if not cores and not memory:
            free[name] = bool(host.sliver_types)
            continue
        offered = host.sliver_types
        free[name] = any(t in offered and host.cores - cores >= c and
                         host.memory_mb - memory >= m for t, c, m in shared)
    return free


__all__ = ["VLAN_POOL", "host_resource", "cores_resource", "memory_resource",
           "bandwidth_resource", "resource_specs", "node_claims", "link_claims",
           "availability"]
