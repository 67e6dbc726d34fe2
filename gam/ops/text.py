"""Terminal text for the operator views: aligned columns and relative times."""
import datetime

UTC = datetime.timezone.utc


def relative(when, now):
    """``when`` as seen from ``now``: "in 9m", "3h12m ago", "in 6d23h", "now"."""
    if when is None:
        return "-"
    seconds = int((when - now).total_seconds())
    if abs(seconds) < 1:
        return "now"
    text = span(abs(seconds))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def span(seconds):
    """A length of time in at most two units: 42s, 9m, 3h12m, 6d23h."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m" if minutes >= 10 or not seconds else f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h" if hours else f"{days}d"


def stamp(when):
    """An RFC 3339 UTC time to the second, or "-"."""
    if when is None:
        return "-"
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(headers, rows, indent="  "):
    """Lines of ``rows`` under ``headers``, columns aligned, two spaces apart.

    Cells are turned into text; the last column is not padded.
    """
    rows = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells):
        padded = [c.ljust(widths[i]) for i, c in enumerate(cells[:-1])] + [cells[-1]]
        return (indent + "  ".join(padded)).rstrip()
    return [line(list(headers))] + [line(row) for row in rows]


def short_state(state):
    """``geni_ready`` -> ``ready``."""
    return state[5:] if state and state.startswith("geni_") else (state or "-")


def counted(states):
    """"2 ready, 1 configuring" from a list of states (most frequent first)."""
    counts = {}
    for s in states:
        counts[s] = counts.get(s, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{n} {short_state(s)}" for s, n in ordered) or "none"


__all__ = ["relative", "span", "stamp", "table", "short_state", "counted"]
