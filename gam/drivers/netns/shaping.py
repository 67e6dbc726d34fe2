"""Link properties as tc qdiscs on a node interface's veth ends.

Capacity is a token bucket (tbf) on egress; latency and loss are netem
(only where the probe found it). The node handler shapes both ends of each
veth pair: the node's own end (what the node sends) and the host end in
the bridge (what the node receives), so each direction of a link is
limited to its capacity; delay and loss go on the host end only, so a
packet crossing the link meets them once.
"""

#: Bytes of burst per second of rate (10 ms worth), and the least burst.
BURST_FRACTION = 100
MIN_BURST = 3200


def tbf(capacity_kbps):
    rate_bytes = capacity_kbps * 1000 / 8
    burst = max(int(rate_bytes / BURST_FRACTION), MIN_BURST)
    return f"tbf rate {int(capacity_kbps)}kbit burst {burst} latency 50ms"


def netem(latency_ms=None, packet_loss=None):
    """``packet_loss`` is a fraction (0.01 = 1 %), as in RSpec links."""
    parts = ["netem"]
    if latency_ms:
        parts.append(f"delay {latency_ms:g}ms")
    if packet_loss:
        parts.append(f"loss {packet_loss * 100:g}%")
    return " ".join(parts)


def qdisc_lines(dev, capacity_kbps=None, latency_ms=None, packet_loss=None):
    """``tc -batch`` lines that shape ``dev``'s egress (none if nothing to do)."""
    lines = []
    if latency_ms or packet_loss:
        lines.append(f"qdisc replace dev {dev} root handle 1: {netem(latency_ms, packet_loss)}")
        if capacity_kbps:
            lines.append(f"qdisc replace dev {dev} parent 1:1 handle 10: {tbf(capacity_kbps)}")
    elif capacity_kbps:
        lines.append(f"qdisc replace dev {dev} root handle 1: {tbf(capacity_kbps)}")
    return lines


def link_shaping(link):
    """(capacity, latency, loss) from a link outcome's data."""
    return link.get("capacity_kbps"), link.get("latency_ms"), link.get("packet_loss")
