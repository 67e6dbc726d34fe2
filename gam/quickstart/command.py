"""``gam quickstart``: the command line of the testbed in a box.

    gam quickstart [--dir DIR] [--am-port N] [--registry-port N] [--host ADDR] ...
    gam quickstart --stop [--dir DIR]

Runs in the foreground until Ctrl-C, SIGTERM or ``--stop``; logs go to
``<dir>/quickstart.log`` (and warnings to standard error, everything with
``-v``); the summary goes to standard output.
"""
import os
import shutil
import sys

from gam.errors import ConfigError, GeniError
from gam.quickstart import pidfile
from gam.quickstart.configs import AM_PORT, REGISTRY_PORT, Options
from gam.quickstart.layout import DEFAULT_DIR
from gam.quickstart.summary import render


def add_parser(commands):
    p = commands.add_parser(
        "quickstart", help="run a testbed in a box: registry + AM + namespace nodes (as root)",
        description="Start a GENI testbed in a box in the foreground: the registry and the AM "
                    "in one process with their own root authority, an SQLite database, the "
                    "Linux namespace driver and a small inventory, plus a ready experimenter "
                    "(certificate, keys, a slice and its credential, omni_config). Everything "
                    "lives in one state directory; a second run reuses it. Stop with Ctrl-C "
                    "or 'gam quickstart --stop'. Slivers are left running when it stops and "
                    "are taken back on the next start.")
    p.add_argument("--dir", default=DEFAULT_DIR,
                   help="the state directory (default: %(default)s)")
    p.add_argument("--stop", action="store_true",
                   help="stop the quickstart running in --dir and wait until it has exited")
    p.add_argument("--am-port", type=int, default=AM_PORT, metavar="PORT",
                   help="the AM's port (default: %(default)s; 0: any free port)")
    p.add_argument("--registry-port", type=int, default=REGISTRY_PORT, metavar="PORT",
                   help="the registry's port (default: %(default)s; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                   help="where the AM, the registry and the nodes' login ports listen "
                        "(default: %(default)s; 0.0.0.0 for other machines)")
    p.add_argument("--public-name", metavar="NAME",
                   help="the host name clients use in URLs and ssh logins (default: the "
                        "--host address, or this host's name for 0.0.0.0)")
    p.add_argument("--authority", default="gam",
                   help="the root authority's name (default: %(default)s; fixed once made)")
    p.add_argument("--user", default="alice",
                   help="the experimenter's user name (default: %(default)s)")
    p.add_argument("--slice", default="demo",
                   help="the experimenter's slice (default: %(default)s)")
    p.add_argument("--prefix", default="gq",
                   help="names of the nodes' host objects start with it (1-4 lowercase "
                        "letters/digits; default: %(default)s)")
    p.add_argument("--login-ports", default="30000-39999", metavar="RANGE",
                   help="ports for the nodes' ssh logins (default: %(default)s; 0: any)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log everything to standard error too (not only warnings)")
    p.set_defaults(func=run)
    return p


def options_from(args):
    return Options(directory=args.dir, host=args.host, public_name=args.public_name,
                   am_port=args.am_port, registry_port=args.registry_port,
                   authority=args.authority, user=args.user, slice=args.slice,
                   prefix=args.prefix, login_ports=args.login_ports)


def preflight():
    """What keeps this machine from running the quickstart, or ""."""
    from gam.drivers.netns.node import TOOLS
    problems = []
    if not sys.platform.startswith("linux"):
        return "the namespace driver needs Linux"
    if os.geteuid() != 0:
        problems.append("it must run as root (the namespace driver makes network namespaces, "
                        "bridges and veth pairs): run it with sudo or as root")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not os.access("/usr/sbin/sshd", os.X_OK):
        missing.append("/usr/sbin/sshd")
    if missing:
        problems.append(f"missing programs: {', '.join(missing)}; install them with: "
                        "apt-get install iproute2 util-linux openssh-server")
    return "; ".join(problems)


def _fail(message, status=1):
    print(f"gam quickstart: {message}", file=sys.stderr)
    return status


def stop(args):
    path = os.path.join(os.path.abspath(args.dir), "quickstart.pid")
    pid, outcome = pidfile.stop(path)
    if outcome == "not running":
        print(f"gam quickstart: none is running in {args.dir}")
        return 0
    if outcome == "not permitted":
        return _fail(f"pid {pid} in {args.dir} belongs to another user; run "
                     "'gam quickstart --stop' as that user (or as root)")
    if outcome == "still running":
        return _fail(f"pid {pid} is still stopping after 120 s; see "
                     f"{os.path.join(args.dir, 'quickstart.log')}")
    print(f"gam quickstart: stopped (pid {pid})")
    return 0


def _start_logging(log_path, verbose):
    from twisted.logger import (
        FilteringLogObserver, LogLevel, LogLevelFilterPredicate, globalLogBeginner,
        textFileLogObserver)
    log_file = open(log_path, "a", encoding="utf-8")
    level = LogLevel.info if verbose else LogLevel.warn
    stderr = FilteringLogObserver(textFileLogObserver(sys.stderr),
                                  [LogLevelFilterPredicate(defaultLogLevel=level)])
    globalLogBeginner.beginLoggingTo([textFileLogObserver(log_file), stderr],
                                     redirectStandardIO=False)
    return log_file


def _explain(failure):
    """A one-line reason for a failed start (no traceback for known causes)."""
    from twisted.internet.error import CannotListenError
    error = failure.value
    if isinstance(error, CannotListenError):
        return (f"cannot listen on {error.interface or '*'}:{error.port} ({error.socketError}); "
                "is another gam running? Choose other ports with --am-port/--registry-port "
                "(0 picks a free one)")
    if isinstance(error, (ConfigError, GeniError, OSError, ValueError)):
        return str(error)
    return None


def run(args):
    if args.stop:
        return stop(args)
    problem = preflight()
    if problem:
        return _fail(f"cannot start here: {problem}", 2)
    options = options_from(args)
    layout = options.layout
    try:
        from gam.drivers.netns.names import Names
        Names(options.prefix)
    except ValueError as e:
        return _fail(f"--prefix: {e}", 2)
    try:
        layout.prepare()
    except OSError as e:
        return _fail(f"cannot create the state directory {layout.root}: {e.strerror}", 2)
    lock = pidfile.PidFile(layout.pid_file)
    try:
        lock.acquire()
    except pidfile.AlreadyRunning as e:
        return _fail(f"a quickstart already runs in {layout.root} (pid {e.pid}); stop it with "
                     f"'gam quickstart --stop --dir {layout.root}' or use another --dir")
    try:
        return _run(options, layout, args.verbose)
    finally:
        lock.release()


def _run(options, layout, verbose):
    from twisted.internet import defer, reactor
    from twisted.logger import Logger

    from gam.quickstart.runner import Quickstart

    log_file = _start_logging(layout.log_file, verbose)
    log = Logger(namespace="gam.quickstart")
    quickstart = Quickstart(options, reactor=reactor)
    outcome = {"status": 0, "left": None, "started": False}

    def started(summary):
        outcome["started"] = True
        print("\n".join(render(summary)), flush=True)

    def failed(failure):
        outcome["status"] = 1
        reason = _explain(failure)
        if reason is None:
            log.failure("the quickstart could not start", failure)
            reason = f"it could not start; see {layout.log_file}"
        print(f"gam quickstart: {reason}", file=sys.stderr, flush=True)
        reactor.stop()

    def start():
        d = defer.Deferred.fromCoroutine(quickstart.start())
        d.addCallbacks(started, failed)

    async def shutdown():
        outcome["left"] = await quickstart.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: defer.Deferred.fromCoroutine(shutdown()))
    reactor.run()
    log_file.close()
    if outcome["started"]:
        left = outcome["left"]
        if left and left[0]:
            print(f"gam quickstart: stopped; {left[0]} slivers of {left[1]} slices are left "
                  "running and are taken back at the next start (delete the slices first to "
                  "leave nothing behind)", flush=True)
        else:
            print("gam quickstart: stopped; no slivers were left running", flush=True)
    return outcome["status"]


__all__ = ["add_parser", "run", "preflight", "options_from"]
