"""Running substrate commands from thread-side driver code.

:func:`thd_run` runs one command with a timeout taken from the
operation's :class:`~gam.drivers.deadline.Deadline` and turns every way
it can go wrong into a :class:`DriverError` (or :class:`DriverTimeout`)
that quotes the command, its exit status and the first lines it wrote to
stderr. Commands are argument lists, never shell strings.
"""
import shlex
import subprocess

from gam.drivers.base import DriverError

#: Longest piece of a command's stderr quoted in an error.
STDERR_LIMIT = 500
#: Default cap (seconds) on one command, whatever the deadline leaves.
COMMAND_CAP = 60


def quote(argv):
    return " ".join(shlex.quote(str(a)) for a in argv)


def _tail(text, limit=STDERR_LIMIT):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def thd_run(argv, deadline, *, input=None, check=True, cap=COMMAND_CAP, step=None):
    """Run ``argv``; return the CompletedProcess (text mode).

    The command is killed when ``deadline`` (or ``cap`` seconds) runs out,
    which raises DriverTimeout. With ``check`` a non-zero exit raises
    DriverError. ``step`` says what the command was for, in messages.
    """
    argv = [str(a) for a in argv]
    what = step or quote(argv)
    timeout = deadline.cap(cap, what)
    try:
        res = subprocess.run(argv, input=input, capture_output=True, text=True,
                             timeout=timeout, stdin=None if input is not None
                             else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        if deadline.expired:
            raise deadline.timeout_error(what) from e
        raise DriverError(f"{what}: `{quote(argv)}` did not finish within {timeout:g} s "
                          "and was killed") from e
    except FileNotFoundError as e:
        raise DriverError(f"{what}: the program {argv[0]!r} is not installed on this host; "
                          "install it (see etc/drivers/README.md)") from e
    except OSError as e:
        raise DriverError(f"{what}: cannot run `{quote(argv)}`: {e.strerror}") from e
    if check and res.returncode != 0:
        raise DriverError(f"{what}: `{_short(argv)}` failed with exit status "
                          f"{res.returncode}: {_tail(res.stderr) or _tail(res.stdout) or 'no message'}")
    return res


def _short(argv, limit=200):
    text = quote(argv)
    return text if len(text) <= limit else text[: limit - 3] + "..."
