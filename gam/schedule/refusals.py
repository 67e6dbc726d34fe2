"""The schedule's refusals: gam.errors with messages that name the
resource and the conflicting interval, and say what to do.

Each error also carries ``.resource`` (name) and ``.conflict``
(``(start, end)`` of the clash, or None) for callers and tests. Holders
(other people's sliver URNs) are never named.
"""
from gam.errors import InsufficientBandwidth, Refused, VlanUnavailable
from gam.schedule.claims import BANDWIDTH_UNITS
from gam.schedule.intervals import count_tags, describe_ranges, fmt, tag_in_ranges


def conflict(err, name, start=None, end=None):
    err.resource = name
    err.conflict = (start, end) if start is not None else None
    return err


def busy(name, hit, start, end):
    return conflict(Refused(
        f"{name} is booked from {fmt(hit.start_at)} to {fmt(hit.end_at)}, which "
        f"overlaps {fmt(start)} to {fmt(end)}; choose another time or another resource",
        reason="busy"), name, hit.start_at, hit.end_at)


def _shortfall(row, message):
    if (row.unit or "").lower() in BANDWIDTH_UNITS:
        return InsufficientBandwidth(message)
    return Refused(message, reason="insufficient-capacity")


def too_big(row, asked):
    unit = f" {row.unit}" if row.unit else ""
    return conflict(_shortfall(
        row, f"the request needs {asked}{unit} of {row.name}, which has "
        f"{row.capacity}{unit} in all; ask for at most that, or split the request "
        "over other resources"), row.name)


def short(row, asked, booked, when_from, when_to, start, end):
    unit = f" {row.unit}" if row.unit else ""
    free = max(row.capacity - booked, 0)
    return conflict(_shortfall(
        row, f"{row.name} has only {free}{unit} of {row.capacity}{unit} free from "
        f"{fmt(when_from)} to {fmt(when_to)}, but the request needs {asked}{unit} "
        f"over {fmt(start)} to {fmt(end)}; ask for less, another time or another "
        "resource"), row.name, when_from, when_to)


def ranges_of(row):
    return tuple(tuple(r) for r in row.ranges or ())


def vlan_unoffered(row, tag):
    ranges = ranges_of(row)
    return conflict(VlanUnavailable(
        f"VLAN tag {tag} is not offered by {row.name} (tags "
        f"{describe_ranges(ranges)}); ask for a tag in those ranges or for any tag"),
        row.name)


def vlan_busy(row, tag, hit, start, end):
    return conflict(VlanUnavailable(
        f"VLAN tag {tag} of {row.name} is in use from {fmt(hit.start_at)} to "
        f"{fmt(hit.end_at)}, which overlaps {fmt(start)} to {fmt(end)}; ask for "
        "another tag or leave the tag out to get any free one"),
        row.name, hit.start_at, hit.end_at)


def vlan_exhausted(row, hits, start, end):
    ranges = ranges_of(row)
    first = min((h.start_at for h in hits), default=start)
    last = max((h.end_at for h in hits), default=end)
    return conflict(VlanUnavailable(
        f"all {count_tags(ranges)} VLAN tags of {row.name} ({describe_ranges(ranges)}) "
        f"are in use at some time between {fmt(start)} and {fmt(end)}; ask for "
        "another time or another VLAN pool"),
        row.name, max(first, start), min(last, end))


def vlan_refusal(row, tag, hits, start, end):
    if tag is None:
        return vlan_exhausted(row, hits, start, end)
    if not tag_in_ranges(tag, ranges_of(row)):
        return vlan_unoffered(row, tag)
    return vlan_busy(row, tag, next(h for h in hits if h.tag == tag), start, end)
