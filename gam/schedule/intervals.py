"""Pure helpers on half-open time intervals and VLAN tag ranges."""
import math
from collections import defaultdict
from datetime import timedelta

from gam.db.types import as_utc
from gam.errors import BadArgs

MIN_TAG = 1
MAX_TAG = 4094


def check_interval(start, end):
    """``(start, end)`` in UTC; BadArgs unless ``start < end``."""
    start = as_utc(start, "start")
    end = as_utc(end, "end")
    if end <= start:
        raise BadArgs(f"the end time {fmt(end)} is not after the start time "
                      f"{fmt(start)}; ask for an end later than the start")
    return start, end


def fmt(when):
    """RFC 3339 in UTC with a ``Z``, for messages."""
    text = as_utc(when).isoformat(timespec="seconds"
                                  if not when.microsecond else "microseconds")
    return text.replace("+00:00", "Z")


def span_seconds(start, end):
    """Length of [start, end) in whole seconds, rounded up."""
    return math.ceil((end - start) / timedelta(seconds=1))


def peak(intervals, start, end):
    """Largest summed amount in use at any instant of [start, end).

    ``intervals`` are ``(start, end, amount)`` triples (half-open). Returns
    ``(peak, peak_start, peak_end)``: the first stretch where it is reached
    (``(0, start, end)`` when nothing overlaps).
    """
    changes = defaultdict(int)
    for s, e, amount in intervals:
        s, e = max(s, start), min(e, end)
        if s < e:
            changes[s] += amount
            changes[e] -= amount
    times = sorted(changes)
    level = best = 0
    stretch = (start, end)
    # The level set at times[i] holds over [times[i], times[i + 1]):
    # an interval ending at t and one starting at t never count together.
    for i, when in enumerate(times):
        level += changes[when]
        if level > best:
            best = level
            stretch = (when, times[i + 1] if i + 1 < len(times) else end)
    return best, stretch[0], stretch[1]


def normalise_ranges(ranges, name="vlan pool"):
    """Sorted, merged ``((low, high), ...)`` of valid tags; ValueError if bad."""
    pairs = []
    for item in ranges:
        if isinstance(item, int) and not isinstance(item, bool):
            low = high = item
        else:
            try:
                low, high = item
            except (TypeError, ValueError):
                raise ValueError(f"{name}: tag range {item!r} is not a (low, high) "
                                 "pair or a single tag") from None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
            raise ValueError(f"{name}: tag range {item!r} must hold whole numbers")
        if not MIN_TAG <= low <= high <= MAX_TAG:
            raise ValueError(f"{name}: tag range {low}-{high} must lie within "
                             f"{MIN_TAG}-{MAX_TAG} with low <= high")
        pairs.append((low, high))
    pairs.sort()
    merged = []
    for low, high in pairs:
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def count_tags(ranges):
    return sum(high - low + 1 for low, high in ranges)


def tag_in_ranges(tag, ranges):
    return any(low <= tag <= high for low, high in ranges)


def first_free_tag(ranges, busy):
    """The lowest tag of ``ranges`` not in the set ``busy``, or None."""
    for low, high in ranges:
        for tag in range(low, high + 1):
            if tag not in busy:
                return tag
    return None


def describe_ranges(ranges):
    return ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
