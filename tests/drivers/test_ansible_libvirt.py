"""The libvirt playbooks through AnsibleHandler on this host, with stand-ins
for virsh, qemu-img and genisoimage (tests/data/ansible/fakebin) and real
bridges and 802.1q interfaces on a dummy trunk NIC. The VM's "sshd" is a
banner server of the test's own on 127.0.0.1 (the fake virsh gives that
address). What it checks: the domain XML, the cloud-init seed, the outcome,
the actions and delete, and that errors of virsh and ip are reported, not
hidden; not that a VM boots (that needs KVM and a base image)."""
import os
import shutil
import subprocess

import yaml
from lxml import etree
from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest

from gam.drivers import base
from gam.drivers.ansible_handler import sliver_id
from tests.drivers.test_ansible_support import (
    DATA, ansible_missing, playbook_handler, start_pool)

FAKEBIN = os.path.join(DATA, "fakebin")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyFakeKeyForTests x@test"
DOWN = "failed to connect to the hypervisor"       # the fake virsh's error while down


class _Sshd(protocol.Protocol):
    """Stands in for a guest's sshd: sends an SSH banner, or nothing at all."""

    def connectionMade(self):
        self.factory.open.add(self.transport)
        if self.factory.banner:
            self.transport.write(b"SSH-2.0-OpenSSH_9.2p1 gam-test\r\n")

    def connectionLost(self, reason):
        self.factory.open.discard(self.transport)


def listen_sshd(case, banner=True):
    """A port on 127.0.0.1 that answers like an sshd (or takes connections
    and stays silent, with ``banner=False``); closed at ``case``'s cleanup."""
    factory = protocol.Factory.forProtocol(_Sshd)
    factory.banner, factory.open = banner, set()
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")

    def close():
        for transport in list(factory.open):
            transport.abortConnection()
        return port.stopListening()
    case.addCleanup(close)
    return port.getHost().port


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root (bridges and VLAN interfaces)"
    if not shutil.which("ip"):
        return "ip (iproute2) is missing"
    return ansible_missing()


class LibvirtPlaybookTests(unittest.TestCase):
    skip = _skip_reason()
    timeout = 240

    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        self.fake = os.path.join(self.dir, "virsh")
        for sub in ("virsh", "base", "vms"):
            os.makedirs(os.path.join(self.dir, sub))
        open(os.path.join(self.dir, "base", "test.qcow2"), "w").close()
        old_env = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(old_env)))
        os.environ["PATH"] = FAKEBIN + os.pathsep + os.environ.get("PATH", "")
        os.environ["GAM_FAKE_VIRSH"] = self.fake
        os.environ["GAM_FAKE_VIRSH_ADDR"] = "127.0.0.1"
        # The trunk NIC: one end of a veth pair (deleting it removes both).
        self.trunk = "gam-k" + os.urandom(4).hex()
        subprocess.run(["ip", "link", "add", self.trunk, "type", "veth", "peer", "name",
                        self.trunk + "p"], check=True)
        self.addCleanup(subprocess.run, ["ip", "link", "delete", self.trunk])
        self.vars = {"libvirt_base_dir": os.path.join(self.dir, "base"),
                     "libvirt_vm_dir": os.path.join(self.dir, "vms"),
                     "libvirt_images": {"urn:publicid:IDN+test+image+deb": "test.qcow2"},
                     "libvirt_default_image": "test.qcow2",
                     "libvirt_trunk": self.trunk, "libvirt_mgmt_bridge": "br-test",
                     "libvirt_stop_wait": 5, "libvirt_ssh_port": listen_sshd(self),
                     "libvirt_ssh_wait": 20}
        self.pool = start_pool(self)
        tag = os.urandom(4).hex()
        self.node_urn = f"urn:publicid:IDN+test+sliver+vm-{tag}"
        self.link_urn = f"urn:publicid:IDN+test+sliver+vlan-{tag}"
        self.addCleanup(self._remove_link_devices)

    def _remove_link_devices(self):
        os.environ.pop("GAM_FAKE_IP_KEEP", None)
        lid = sliver_id(self.link_urn)
        for dev in (f"gam-t{lid}", f"gam-b{lid}"):
            if os.path.exists(f"/sys/class/net/{dev}"):
                subprocess.run(["ip", "link", "delete", dev])

    def handler(self, kind):
        return playbook_handler("libvirt", kind, "hv1", self.vars, self.pool)

    def calls(self):
        with open(os.path.join(self.fake, "calls")) as f:
            return f.read().splitlines()

    def vm_file(self, name):
        with open(os.path.join(self.dir, "vms", "gam-n" + sliver_id(self.node_urn), name)) as f:
            return f.read()

    def vlan_support(self):
        probe = "gam-kv" + os.urandom(4).hex()
        made = subprocess.run(["ip", "link", "add", "link", self.trunk, "name", probe, "type",
                               "vlan", "id", "7"], capture_output=True).returncode == 0
        if made:
            subprocess.run(["ip", "link", "delete", probe])
        return made

    @defer.inlineCallbacks
    def test_vlan_link(self):
        if not self.vlan_support():
            raise unittest.SkipTest("this kernel cannot make 802.1q interfaces (no 8021q)")
        links = self.handler("link")
        link = yield defer.ensureDeferred(links.create(base.LinkPlan(
            sliver_urn=self.link_urn, slice_urn="urn:s", client_id="lan0", vlan_tag=3017), {}))
        lid = sliver_id(self.link_urn)
        self.assertEqual(link.data["bridge"], f"gam-b{lid}")
        self.assertEqual((link.data["vlan_tag"], link.data["trunk"]), (3017, self.trunk))
        vlan = subprocess.run(["ip", "-d", "-j", "link", "show", f"gam-t{lid}"],
                              capture_output=True, text=True, check=True).stdout
        info = yaml.safe_load(vlan)[0]
        self.assertEqual(info["linkinfo"]["info_data"]["id"], 3017)
        self.assertEqual(info["link"], self.trunk)
        self.assertEqual(info["master"], f"gam-b{lid}")
        state = yield defer.ensureDeferred(links.poll(self.link_urn, link.data))
        self.assertEqual(state, base.READY)
        yield defer.ensureDeferred(links.delete(self.link_urn, link.data))
        self.assertFalse(os.path.exists(f"/sys/class/net/gam-t{lid}"))
        self.assertFalse(os.path.exists(f"/sys/class/net/gam-b{lid}"))

    @defer.inlineCallbacks
    def test_vm_on_a_link(self):
        links, nodes = self.handler("link"), self.handler("node")
        link = yield defer.ensureDeferred(links.create(base.LinkPlan(
            sliver_urn=self.link_urn, slice_urn="urn:s", client_id="lan0"), {}))
        lid = sliver_id(self.link_urn)
        self.assertEqual((link.data["bridge"], link.data["vlan_tag"], link.data["trunk"]),
                         (f"gam-b{lid}", None, None))
        self.assertTrue(os.path.isdir(f"/sys/class/net/gam-b{lid}/bridge"))
        self.assertFalse(os.path.exists(f"/sys/class/net/gam-t{lid}"))

        plan = base.NodePlan(
            sliver_urn=self.node_urn, slice_urn="urn:s", client_id="vm one", host="hv1",
            sliver_type="gam-vm", image="urn:publicid:IDN+test+image+deb", cores=2,
            memory_mb=2048,
            interfaces=(base.InterfacePlan("vm:if0", self.link_urn, "10.20.0.1", "255.255.0.0"),),
            users=(base.User("urn:publicid:IDN+test+user+alice", "alice", (KEY,)),))
        vm = yield defer.ensureDeferred(nodes.create(plan, {self.link_urn: link.data}))
        data = vm.data
        name = "gam-n" + sliver_id(self.node_urn)
        self.assertEqual(data["domain"], name)
        self.assertEqual(data["logins"], [{"username": "alice", "hostname": "127.0.0.1",
                                           "port": self.vars["libvirt_ssh_port"]}])
        iface = data["interfaces"]["vm:if0"]
        self.assertEqual((iface["device"], iface["address"]), ("eth1", "10.20.0.1"))

        xml = etree.fromstring(self.vm_file("domain.xml").encode(),
                               etree.XMLParser(resolve_entities=False, no_network=True))
        self.assertEqual(xml.findtext("name"), name)
        self.assertEqual(xml.findtext("vcpu"), "2")
        self.assertEqual(xml.findtext("memory"), "2048")
        disks = [d.get("file") for d in xml.iterfind("devices/disk/source")]
        self.assertEqual([os.path.basename(d) for d in disks], ["disk.qcow2", "seed.iso"])
        nics = [(n.find("mac").get("address"), n.find("source").get("bridge"))
                for n in xml.iterfind("devices/interface")]
        self.assertEqual(nics, [(data["mgmt_mac"], "br-test"), (iface["mac"], f"gam-b{lid}")])
        self.assertIn(f"-b {self.dir}/base/test.qcow2", self.vm_file("disk.qcow2"))

        user_data = yaml.safe_load(self.vm_file("user-data"))
        self.assertEqual([(u["name"], u["ssh_authorized_keys"]) for u in user_data["users"]],
                         [("alice", [KEY])])
        self.assertEqual(yaml.safe_load(self.vm_file("meta-data"))["local-hostname"], "vm-one")
        net = yaml.safe_load(self.vm_file("network-config"))
        self.assertEqual(net["ethernets"]["data1"]["addresses"], ["10.20.0.1/16"])
        self.assertEqual(net["ethernets"]["data1"]["match"]["macaddress"], iface["mac"])
        self.assertIn(f"start {name}", self.calls())

        state = yield defer.ensureDeferred(nodes.perform(self.node_urn, data, base.STOP))
        self.assertEqual(state, base.NOTREADY)
        state = yield defer.ensureDeferred(nodes.perform(self.node_urn, data, base.START))
        self.assertEqual(state, base.READY)
        old_id = yaml.safe_load(self.vm_file("meta-data"))["instance-id"]
        bob = base.User("urn:publicid:IDN+test+user+bob", "bob", (KEY,))
        state = yield defer.ensureDeferred(nodes.perform(self.node_urn, data,
                                                         base.UPDATE_USERS, users=(bob,)))
        self.assertEqual(state, base.READY)
        self.assertEqual([u["name"] for u in yaml.safe_load(self.vm_file("user-data"))["users"]],
                         ["bob"])
        self.assertNotEqual(yaml.safe_load(self.vm_file("meta-data"))["instance-id"], old_id)
        self.assertIn("bob", self.vm_file("seed.iso"))
        self.assertIn(f"reboot {name}", self.calls())

        gone = yield defer.ensureDeferred(nodes.clean_restart({self.node_urn: data}))
        self.assertEqual(gone, [])
        yield defer.ensureDeferred(nodes.delete(self.node_urn, data))
        self.assertIn(f"undefine {name} --nvram --managed-save --snapshots-metadata",
                      self.calls())
        self.assertFalse(os.path.exists(os.path.join(self.dir, "vms", name)))
        state = yield defer.ensureDeferred(nodes.poll(self.node_urn, data))
        self.assertEqual(state, base.FAILED)

        yield defer.ensureDeferred(links.delete(self.link_urn, link.data))
        self.assertFalse(os.path.exists(f"/sys/class/net/gam-t{lid}"))
        self.assertFalse(os.path.exists(f"/sys/class/net/gam-b{lid}"))
        state = yield defer.ensureDeferred(links.poll(self.link_urn, link.data))
        self.assertEqual(state, base.FAILED)

    def small_vm(self):
        return base.NodePlan(
            sliver_urn=self.node_urn, slice_urn="urn:s", client_id="vm", host="hv1",
            sliver_type="gam-vm",
            users=(base.User("urn:publicid:IDN+test+user+alice", "alice", (KEY,)),))

    def defined(self, name):
        return os.path.exists(os.path.join(self.fake, name + ".state"))

    @defer.inlineCallbacks
    def test_create_waits_for_the_ssh_banner(self):
        # Something takes connections on the VM's address but never says
        # "SSH-2.0-": logins would not work, so the VM is not ready.
        self.vars.update(libvirt_ssh_port=listen_sshd(self, banner=False), libvirt_ssh_wait=2)
        nodes = self.handler("node")
        name = "gam-n" + sliver_id(self.node_urn)
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(nodes.create(self.small_vm(), {}))
        message = caught.exception.message
        self.assertIn(f"VM {name} got the management address 127.0.0.1, but no sshd "
                      "answered there with an SSH banner", message)
        self.assertIn(f"(port {self.vars['libvirt_ssh_port']}) within 2 s", message)
        # The failed create was undone.
        self.assertIn("what it had made was removed", message)
        self.assertFalse(self.defined(name))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "vms", name)))

    @defer.inlineCallbacks
    def test_virsh_errors_are_not_taken_for_a_missing_vm(self):
        nodes = self.handler("node")
        vm = yield defer.ensureDeferred(nodes.create(self.small_vm(), {}))
        name = vm.data["domain"]
        self.assertTrue(self.defined(name))
        down = os.path.join(self.fake, "down")
        open(down, "w").close()
        # libvirtd is down: delete, clean and poll fail with virsh's message,
        # and the VM (running, for all they know) and its disks stay.
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(nodes.delete(self.node_urn, vm.data))
        self.assertIn(DOWN, caught.exception.message)
        for live in ({}, {self.node_urn: vm.data}):
            with self.assertRaises(base.DriverError) as caught:
                yield defer.ensureDeferred(nodes.clean_restart(live))
            self.assertIn(DOWN, caught.exception.message)
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(nodes.poll(self.node_urn, vm.data))
        self.assertIn(DOWN, caught.exception.message)
        self.assertTrue(self.defined(name))
        self.assertTrue(os.path.exists(os.path.join(self.dir, "vms", name, "disk.qcow2")))
        self.assertNotIn(f"undefine {name} --nvram --managed-save --snapshots-metadata",
                         self.calls())

        # Back up: the VM is removed, and a VM libvirt does not know is gone.
        os.remove(down)
        gone = yield defer.ensureDeferred(nodes.clean_restart({}))
        self.assertEqual(gone, [])
        self.assertFalse(self.defined(name))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "vms", name)))
        yield defer.ensureDeferred(nodes.delete(self.node_urn, vm.data))
        state = yield defer.ensureDeferred(nodes.poll(self.node_urn, vm.data))
        self.assertEqual(state, base.FAILED)

    @defer.inlineCallbacks
    def test_a_link_device_that_stays_fails_delete(self):
        links = self.handler("link")
        link = yield defer.ensureDeferred(links.create(base.LinkPlan(
            sliver_urn=self.link_urn, slice_urn="urn:s", client_id="lan0"), {}))
        lid = sliver_id(self.link_urn)
        bridge, vlan_if = link.data["bridge"], f"gam-t{lid}"
        # The link's VLAN interface (a veth by its name: this kernel may have
        # no 8021q), which the stand-in ip refuses to delete, as the kernel may.
        subprocess.run(["ip", "link", "add", vlan_if, "type", "veth", "peer", "name",
                        f"gam-u{lid}"], check=True)
        os.environ["GAM_FAKE_IP_KEEP"] = vlan_if
        refused = f"cannot delete {vlan_if}: RTNETLINK answers: Operation not permitted"
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(links.delete(self.link_urn, link.data))
        self.assertIn(refused, caught.exception.message)
        self.assertTrue(os.path.exists(f"/sys/class/net/{vlan_if}"))
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(links.clean_restart({}))
        self.assertIn(refused, caught.exception.message)
        self.assertTrue(os.path.exists(f"/sys/class/net/{vlan_if}"))

        del os.environ["GAM_FAKE_IP_KEEP"]
        yield defer.ensureDeferred(links.delete(self.link_urn, link.data))
        self.assertFalse(os.path.exists(f"/sys/class/net/{vlan_if}"))
        self.assertFalse(os.path.exists(f"/sys/class/net/{bridge}"))
        yield defer.ensureDeferred(links.delete(self.link_urn, link.data))    # gone: fine
