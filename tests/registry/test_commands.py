"""The registry's command line, run as the operator would run it (subprocesses)."""
import configparser
import json
import os
import re
import signal
import stat
import sys
import xmlrpc.client

from twisted.internet import defer, protocol, reactor, threads, utils
from twisted.trial import unittest
from twisted.web import resource, server


from gam.auth.authorize import Authorizer
from gam.auth.credential import parse_credential
from gam.auth.gid import load_key_pem
from gam.auth.trust import TrustRoots
from gam.auth.urn import URN
from gam.registry.authorities import chain_from_pem, public_key_der
from gam.rpc.tls import server_options_from_files
from tests.pki import Identity, pki, struct
from tests.rpc.support import TLSServer, client_context

CONFIG = """registry:
  authority: gamcli
  state_dir: state
  listen: {host: 127.0.0.1, port: 0, path: /registry}
"""


class _Server(protocol.ProcessProtocol):
    """Collects stderr; ``listening`` fires with the port from the log line."""

    def __init__(self):
        self.output = b""
        self.listening = defer.Deferred()
        self.ended = defer.Deferred()

    def errReceived(self, data):
        self.output += data
        found = re.search(rb"listening on https://127\.0\.0\.1:(\d+)/registry", self.output)
        if found and not self.listening.called:
            self.listening.callback(int(found.group(1)))

    outReceived = errReceived

    def processEnded(self, reason):
        if not self.listening.called:
            self.listening.errback(RuntimeError(self.output.decode(errors="replace")))
        self.ended.callback(reason.value.exitCode)


class CommandTests(unittest.TestCase):
    timeout = 180

    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.config = os.path.join(self.dir, "registry.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        self.out = os.path.join(self.dir, "out")

    def gam(self, *args):
        argv = ("-m", "gam.registry.commands") + args + ("-c", self.config)
        d = utils.getProcessOutputAndValue(sys.executable, argv, env=os.environ,
                                           path=self.dir)
        return d.addCallback(lambda r: (r[0].decode(), r[1].decode(), r[2]))

    async def ok(self, *args):
        out, err, code = await self.gam(*args)
        self.assertEqual(code, 0, f"gam {' '.join(args)} failed: {err}")
        return out

    def identity(self, name):
        with open(os.path.join(self.out, f"{name}.key")) as f:
            key = load_key_pem(f.read())
        with open(os.path.join(self.out, f"{name}.pem")) as f:
            return Identity(key, chain_from_pem(f.read()))

    def root_gid(self):
        with open(os.path.join(self.dir, "state", "gamcli.pem")) as f:
            return chain_from_pem(f.read())[0]

    async def scenario(self):
        await self.ok("user", "add", "alice", "--pi", "--email", "alice@example.net",
                      "--out", self.out)
        await self.ok("user", "add", "bob", "--out", self.out)
        out = await self.ok("slice", "create", "exp1", "--researcher", "bob", "--days", "2")
        self.assertIn("gamcli.exp1", out)

    @defer.inlineCallbacks
    def test_user_slice_and_credentials(self):
        yield defer.ensureDeferred(self.scenario())
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.out, "bob.key")).st_mode),
                         0o600)
        cred_path = os.path.join(self.out, "exp1.xml")
        yield defer.ensureDeferred(self.ok("credential", "slice", "exp1", "--user", "bob",
                                           "-o", cred_path))
        with open(cred_path) as f:
            first = parse_credential(f.read())
        bob = self.identity("bob")
        slice_urn = URN("gamcli", "slice", "exp1")
        aggregate = Authorizer(TrustRoots([self.root_gid()]))
        aggregate.authorize(bob.peer_chain, [struct(first.to_xml())], slice_urn, "CreateSliver")

        yield defer.ensureDeferred(self.ok("slice", "renew", "exp1", "--days", "5"))
        out = yield defer.ensureDeferred(self.ok("credential", "slice", "gamcli.exp1",
                                                 "--user", "gamcli.bob"))
        renewed = parse_credential(out)
        self.assertGreater((renewed.expires - first.expires).total_seconds(), 2.9 * 86400)
        # alice is a PI of the root authority, so she may have it too.
        yield defer.ensureDeferred(self.ok("credential", "slice", "exp1", "--user", "alice"))

    @defer.inlineCallbacks
    def test_refusals(self):
        yield defer.ensureDeferred(self.scenario())
        yield defer.ensureDeferred(self.ok("user", "add", "carol", "--out", self.out))
        cases = [
            (("user", "add", "alice", "--out", self.out), "Existing record"),
            (("credential", "slice", "exp1", "--user", "carol"), "neither a researcher"),
            (("slice", "renew", "nosuch", "--days", "1"), "Record not found"),
            (("slice", "renew", "exp1", "--days", "900"), "at most 60 days"),
            (("user", "add", "Bad-Name", "--out", self.out), "cannot name a user"),
            (("authority", "add", "gamcli.x.y"), "Record not found"),
        ]
        for args, words in cases:
            out, err, code = yield self.gam(*args)
            self.assertEqual(code, 1, f"gam {' '.join(args)}: {out}{err}")
            self.assertIn("gam: error:", err)
            self.assertIn(words, err)
            self.assertNotIn("Traceback", err)

    @defer.inlineCallbacks
    def test_bad_config(self):
        with open(self.config, "w") as f:
            f.write("registry:\n  authority: no.dots\n")
        out, err, code = yield self.gam("slice", "create", "x")
        self.assertEqual(code, 1)
        self.assertIn(self.config, err)
        self.assertIn("registry.authority", err)

    @defer.inlineCallbacks
    def test_omni_config(self):
        yield defer.ensureDeferred(self.scenario())
        yield defer.ensureDeferred(self.ok("omni-config", "bob", "--dir", self.out))
        config = configparser.ConfigParser()
        config.read(os.path.join(self.out, "omni_config"))
        self.assertEqual(config["omni"]["default_cf"], "gam")
        framework = config["gam"]
        self.assertEqual(framework["type"], "sfa")
        self.assertEqual((framework["authority"], framework["user"]), ("gamcli", "gamcli.bob"))
        self.assertTrue(framework["registry"].endswith("/registry"))
        self.assertEqual(framework["cert"], os.path.join(self.out, "bob.pem"))
        self.assertEqual(framework["key"], os.path.join(self.out, "bob.key"))
        self.assertEqual(config["bob"]["urn"], "urn:publicid:IDN+gamcli+user+bob")
        with open(os.path.join(self.out, "context.json")) as f:
            context = json.load(f)
        self.assertEqual(context["user-urn"], "urn:publicid:IDN+gamcli+user+bob")
        self.assertEqual(context["cert-path"], framework["cert"])
        self.assertEqual(context["project"], "gamcli")
        # The certificate written is bob's, usable with his key.
        self.assertEqual(self.identity("bob").gid.urn, URN("gamcli", "user", "bob"))

    @defer.inlineCallbacks
    def test_registry_server_runs_and_stops(self):
        yield defer.ensureDeferred(self.ok("user", "add", "alice", "--pi", "--out", self.out))
        server = _Server()
        process = reactor.spawnProcess(
            server, sys.executable, [sys.executable, "-m", "gam.registry.commands", "registry",
                                     "-c", self.config], env=os.environ, path=self.dir)
        try:
            port = yield server.listening
            alice = self.identity("alice")
            context = client_context(alice, trust=self.root_gid().pem)

            def thd_call():
                proxy = xmlrpc.client.ServerProxy(f"https://127.0.0.1:{port}/registry",
                                                  context=context)
                cred = proxy.GetSelfCredential(alice.gid.pem, "gamcli.alice", "user")
                return proxy.GetVersion(), cred
            version, cred = yield threads.deferToThread(thd_call)
            self.assertEqual(version["hrn"], "gamcli")
            self.assertEqual(parse_credential(cred).top.owner_urn, alice.urn)
        finally:
            if process.pid is not None:
                process.signalProcess(signal.SIGTERM)
        code = yield server.ended
        self.assertEqual(code, 0, server.output.decode(errors="replace"))

    # ------------------------------------------------------------ am-cert

    @defer.inlineCallbacks
    def test_am_cert_gives_the_am_an_identity_its_users_can_reach(self):
        keys = os.path.join(self.dir, "etc", "keys")
        trusted = os.path.join(self.dir, "etc", "trusted_roots")
        am_cert = ("authority", "am-cert", "--out", keys, "--trust-roots", trusted)
        # A registry never started has no root to sign with: nothing is made.
        out, err, code = yield self.gam(*am_cert)
        self.assertEqual(code, 1, out + err)
        self.assertIn("is not initialised", err)
        self.assertIn(f"gam registry -c {self.config}", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "etc")))

        yield defer.ensureDeferred(self.ok("user", "add", "alice", "--out", self.out))
        out = yield defer.ensureDeferred(self.ok(*am_cert))
        self.assertIn("am.urn: urn:publicid:IDN+gamcli+authority+am", out)
        cert_path, key_path = os.path.join(keys, "am.pem"), os.path.join(keys, "am.key")
        with open(cert_path) as f:
            chain = chain_from_pem(f.read())
        with open(key_path) as f:
            key = load_key_pem(f.read())
        root = self.root_gid()
        self.assertEqual(chain[0].urn, URN("gamcli", "authority", "am"))
        self.assertFalse(chain[0].is_ca)
        self.assertEqual(list(chain[1:]), [root])
        self.assertEqual(public_key_der(key.public_key()), chain[0].public_key_der)
        TrustRoots([root]).verify_chain(chain)
        self.assertEqual(list(TrustRoots.from_directory(trusted)), [root])
        self.assertEqual(stat.S_IMODE(os.stat(key_path).st_mode), 0o600)

        # The AM's TLS from these files: the registry's users get in, others do not,
        # and a client trusting the root accepts the AM.
        site = server.Site(resource.Resource())
        am = TLSServer(self, site, server_options_from_files(cert_path, key_path, trusted),
                       root.pem)
        answer = yield am.request(self.identity("alice"), "GET", "/")
        self.assertEqual(answer.status, 404)
        stranger = am.request(pki().mallory, "GET", "/")
        yield self.assertFailure(stranger, OSError)

        # Existing files are kept unless --force.
        before = {p: open(p).read() for p in (cert_path, key_path)}
        out, err, code = yield self.gam(*am_cert)
        self.assertEqual(code, 1, out + err)
        self.assertIn(f"{cert_path}, {key_path} already exist", err)
        self.assertIn("--force", err)
        self.assertEqual({p: open(p).read() for p in before}, before)
        yield defer.ensureDeferred(self.ok(*am_cert, "--force"))
        with open(key_path) as f:
            self.assertNotEqual(f.read(), before[key_path])
        with open(cert_path) as f:
            self.assertEqual(chain_from_pem(f.read())[1], root)

        # A trust root that is not this registry's root is not replaced either.
        with open(os.path.join(trusted, "gamcli.pem"), "w") as f:
            f.write(pki().foreign.gid.pem)
        out, err, code = yield self.gam("authority", "am-cert", "--out", self.out,
                                        "--trust-roots", trusted)
        self.assertEqual(code, 1, out + err)
        self.assertIn(os.path.join(trusted, "gamcli.pem"), err)
        self.assertFalse(os.path.exists(os.path.join(self.out, "am.pem")))

    @defer.inlineCallbacks
    def test_am_cert_refuses_the_names_that_are_taken(self):
        yield defer.ensureDeferred(self.ok("user", "add", "alice", "--out", self.out))
        for name, words in (("sa", "root authority"), ("registry", "TLS identity"),
                            ("a/b", "cannot name an AM")):
            out, err, code = yield self.gam("authority", "am-cert", "--out", self.out,
                                            "--name", name)
            self.assertEqual(code, 1, out + err)
            self.assertIn(words, err)
            self.assertNotIn("Traceback", err)
        out = yield defer.ensureDeferred(self.ok("authority", "am-cert", "--out", self.out,
                                                 "--name", "am2"))
        with open(os.path.join(self.out, "am.pem")) as f:
            self.assertEqual(chain_from_pem(f.read())[0].urn, URN("gamcli", "authority", "am2"))
