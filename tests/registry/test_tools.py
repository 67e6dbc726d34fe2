"""What the registry issues verifies with the standard tools: xmlsec1 and openssl.

Skipped, saying so, where ``xmlsec1`` or ``openssl`` is not installed.
"""
import os
import shutil
import stat

from twisted.internet import defer, utils

from gam.auth.urn import URN
from gam.registry.authorities import chain_from_pem
from gam.registry.manager import RecordSpec
from tests.registry.support import ROOT, RegistryTestCase

LAB_NS = f"{ROOT}:lab"


def _need(tool):
    path = shutil.which(tool)
    if path is None:
        return f"the {tool} command-line tool is not installed (apt-get install {tool})"
    return None


class ToolsTests(RegistryTestCase):

    async def issue(self):
        """A lab authority, a researcher and a slice; the files the tools read."""
        await self.manager.register(RecordSpec(urn=URN(LAB_NS, "authority", "sa")))
        await self.add_user("alice", LAB_NS)
        alice = URN(LAB_NS, "user", "alice")
        slice_urn = URN(LAB_NS, "slice", "exp1")
        await self.manager.register(RecordSpec(urn=slice_urn, researchers=(alice,)))
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        files = {}
        files["root"] = self.write("root.pem", self.manager.root.chain[-1].pem)
        alice_chain = chain_from_pem((await self.manager.get(alice)).gid)
        files["alice"] = self.write("alice.pem", alice_chain[0].pem)
        files["lab"] = self.write("lab.pem", alice_chain[1].pem)
        slice_chain = chain_from_pem((await self.manager.get(slice_urn)).gid)
        files["slice"] = self.write("slice.pem", slice_chain[0].pem)
        files["server"] = self.write("server.pem", self.manager.server_chain[0].pem)
        cred = await self.manager.credential_for(alice, slice_urn)
        files["cred"] = self.write("cred.xml", cred)
        files["tampered"] = self.write("tampered.xml", cred.replace("<name>info</name>",
                                                                    "<name>pi</name>"))
        return files

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_tool(self, tool, *args):
        return utils.getProcessOutputAndValue(shutil.which(tool), args, env=os.environ)

    @defer.inlineCallbacks
    def test_xmlsec1_verifies_the_slice_credential(self):
        files = yield defer.ensureDeferred(self.issue())
        out, err, code = yield self.run_tool("xmlsec1", "--verify", "--node-id", "Sig_ref0",
                                             "--trusted-pem", files["root"], files["cred"])
        self.assertEqual(code, 0, (out + err).decode(errors="replace"))
        self.assertIn(b"OK", out + err)
        # The same check refuses an altered credential.
        out, err, code = yield self.run_tool("xmlsec1", "--verify", "--node-id", "Sig_ref0",
                                             "--trusted-pem", files["root"], files["tampered"])
        self.assertNotEqual(code, 0, "xmlsec1 accepted a tampered credential")

    test_xmlsec1_verifies_the_slice_credential.skip = _need("xmlsec1")

    @defer.inlineCallbacks
    def test_openssl_verifies_the_certificates(self):
        files = yield defer.ensureDeferred(self.issue())
        for leaf, purpose in (("alice", "sslclient"), ("slice", "any"), ("lab", "any")):
            out, err, code = yield self.run_tool(
                "openssl", "verify", "-x509_strict", "-purpose", purpose, "-CAfile",
                files["root"], "-untrusted", files["lab"], files[leaf])
            self.assertEqual(code, 0, (out + err).decode(errors="replace"))
            self.assertIn(b": OK", out)
        out, err, code = yield self.run_tool("openssl", "verify", "-x509_strict", "-purpose",
                                             "sslserver", "-CAfile", files["root"],
                                             files["server"])
        self.assertEqual(code, 0, (out + err).decode(errors="replace"))
        # A chain that stops short of the root does not verify.
        out, err, code = yield self.run_tool("openssl", "verify", "-CAfile", files["lab"],
                                             files["alice"])
        self.assertNotEqual(code, 0, "openssl accepted a chain without its root")

    test_openssl_verifies_the_certificates.skip = _need("openssl")

    @defer.inlineCallbacks
    def test_authority_keys_are_private(self):
        yield defer.ensureDeferred(self.issue())
        keystore = self.manager.keystore
        self.assertEqual(stat.S_IMODE(os.stat(keystore.keys_dir).st_mode), 0o700)
        for namespace in (ROOT, LAB_NS):
            path = keystore.key_path(namespace)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
        self.assertEqual(stat.S_IMODE(os.stat(keystore.server_key_path).st_mode), 0o600)
