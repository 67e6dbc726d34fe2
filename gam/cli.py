"""The ``gam`` command line.

``gam am -c CONFIG`` runs the aggregate manager in the foreground until
SIGINT or SIGTERM, logging to standard error. ``gam quickstart`` runs a
whole testbed in a box (gam.quickstart); ``gam status`` and ``gam wait``
are the operator's and experimenter's views (gam.ops); the registry's
commands come from gam.registry.commands.
"""
import argparse
import sys

from gam.errors import ConfigError

DEFAULT_CONFIG = "etc/gam.yaml"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gam",
        description="gam: a GENI Aggregate Manager (AM API v3) with an SFA-style registry.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    am = commands.add_parser(
        "am", help="run the aggregate manager (AM API v3) in the foreground",
        description="Run the aggregate manager in the foreground: database, drivers, "
                    "expiry and the TLS XML-RPC server. Stops cleanly on SIGINT/SIGTERM.")
    am.add_argument("-c", "--config", default=DEFAULT_CONFIG, metavar="CONFIG",
                    help=f"the YAML configuration file (default: {DEFAULT_CONFIG})")
    am.set_defaults(func=run_am)
    from gam.registry.commands import register_commands
    register_commands(commands)
    from gam.quickstart.command import add_parser as add_quickstart
    add_quickstart(commands)
    status = commands.add_parser(
        "status", help="the AM's slices, slivers, their states and the inventory's use",
        description="Show the AM's slices with live slivers, each sliver's states, expiry and "
                    "login, and what of the inventory is in use now, read from the AM's "
                    "database. Reads -c CONFIG, or a quickstart's --dir; with neither, the "
                    "first of: the quickstart running in the default directory, "
                    "/etc/gam/gam.yaml, the default quickstart directory, etc/gam.yaml.")
    status.add_argument("-c", "--config", metavar="CONFIG", help="the AM's gam.yaml")
    status.add_argument("--dir", help="a quickstart state directory")
    status.set_defaults(func=run_status)
    from gam.ops.wait import add_parser as add_wait
    add_wait(commands)
    return parser


def run_status(args):
    from gam.ops.status import cmd_status
    return cmd_status(args)


def run_am(args):
    """Load the configuration, start the AM and run the reactor; the exit status."""
    from gam.config import load_config

    def fail(message, status):
        print(f"gam am: {message}", file=sys.stderr)
        return status

    try:
        config = load_config(args.config)
    except ConfigError as e:
        return fail(e, 2)
    from twisted.internet import defer, reactor
    from twisted.logger import Logger, globalLogBeginner, textFileLogObserver

    from gam.aggregate.service import AMService, DriversUnavailable, load_drivers
    try:
        drivers = load_drivers(config, reactor)
        am = AMService(config, drivers, reactor=reactor)
    except ConfigError as e:
        return fail(e, 2)
    except DriversUnavailable as e:
        return fail(e, 1)

    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)],
                                     redirectStandardIO=False)
    log = Logger(namespace="gam.cli")
    status = [0]

    def start():
        d = defer.Deferred.fromCoroutine(am.start())

        def failed(failure):
            status[0] = 1
            if failure.check(ConfigError):
                print(f"gam am: {failure.value}", file=sys.stderr)
            else:
                log.failure("the AM could not start", failure)
            reactor.stop()
        d.addErrback(failed)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: defer.Deferred.fromCoroutine(am.stop()))
    reactor.run()
    return status[0]


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
