"""The ``gam`` command line.

``gam am -c CONFIG`` runs the aggregate manager in the foreground until
SIGINT or SIGTERM, logging to standard error.
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
    return parser


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
