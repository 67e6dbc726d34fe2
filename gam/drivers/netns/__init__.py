"""The default driver: nodes and links as Linux namespaces on this host.

Works out of the box on one Linux host when the AM runs as root (see
``etc/drivers/netns.yaml`` and ``etc/drivers/README.md`` for packages).

**A node** is a network namespace (``ip netns``, named ``<prefix>n<hash>``)
holding, while the node runs, one process tree in its own mount, UTS, IPC
and PID namespaces (:mod:`.runtime`): its PID 1 sets the host name (the
client_id, sanitised), bind-mounts the node's own ``passwd``, ``group``,
``shadow``, ``hosts``, ``/etc/ssh`` and ``/home`` (kept in the node's
folder under ``state_dir``) over the host's, mounts private ``/run``,
``/tmp``, ``/var/tmp`` and ``/dev/shm``, hides ``state_dir``, and becomes
the node's ``sshd``. So an experimenter who logs in gets a shell *in the
node*: its network, its host name, its processes only, accounts that exist
nowhere else. We chose bind-mounted account files over ``ForceCommand
nsenter`` through the host's sshd because the latter needs the
experimenters on the host and runs their login on the host until the
command takes over; a per-node sshd keeps the host's accounts, sshd and
PAM out of it entirely. The node's processes see the host's /usr and /etc
read-only by permission (not a separate root file system), and
experimenters get no root in the node: without a user namespace, root in
the node would be root on the host.

**Logins** reach the node through a port on the host: the AM opens a
listening socket in the host's network namespace and hands it to a small
forwarder running in the node's network namespace, which relays to the
node's sshd (:mod:`.forward`). No iptables NAT, no routes and no
management interface join a node to the host, so a node can reach neither
the host nor other nodes except over its own links. The forwarder outlives
an AM restart, as the nodes do.

**A link or LAN** is a bridge of its own (:mod:`.link`); the node handler
adds a veth pair per interface (the node's end named ``ethN``, requested
address on it; the host's end ``<prefix>v<hash>`` in the bridge) and
shapes both ends (``tc`` tbf for capacity, netem for latency/loss where
the kernel has it; otherwise the link handler refuses them).

**Cleanup.** Everything is found by name (:mod:`.names`): delete removes the
node's processes, veths, namespace and folder whether or not the create
had finished; ``clean_restart`` removes every object of this prefix that
no live sliver owns. geni_stop kills the node's PID namespace (its
processes and mounts go with it); geni_start runs it again;
geni_update_users rewrites the account files and keys in place.

Not enforced: ``cores`` and ``memory_mb`` (no cgroup limits yet).
"""
from gam.drivers.netns.link import NetnsLinkHandler
from gam.drivers.netns.node import NetnsNodeHandler

__all__ = ["NetnsNodeHandler", "NetnsLinkHandler"]
