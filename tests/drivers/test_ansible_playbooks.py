"""Every playbook under playbooks/ passes ``ansible-playbook --syntax-check``,
and every playbook the example handler configs name exists."""
import glob
import os
import subprocess
import sys

from twisted.trial import unittest

from tests.drivers.test_ansible_support import PLAYBOOKS, ansible_missing


def playbook_files():
    """The playbooks: the YAML files directly in each set's folder (task
    files, vars and templates live in sub-folders)."""
    return sorted(glob.glob(os.path.join(PLAYBOOKS, "*", "*.yml")))


def _syntax_test(path):
    def test(self):
        cfg = os.path.abspath(self.mktemp()) + "-ansible.cfg"
        with open(cfg, "w") as f:
            f.write("# empty: no stray ansible.cfg counts\n")
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_CONFIG=cfg,
                   PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                         os.environ.get("PATH", "")]))
        run = subprocess.run(["ansible-playbook", "--syntax-check", "-i", "localhost,", path],
                             capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(run.returncode, 0, f"{path}:\n{run.stdout}\n{run.stderr}")
    return test


class SyntaxTests(unittest.SynchronousTestCase):
    skip = ansible_missing()

    def test_there_are_playbooks(self):
        names = {os.path.relpath(p, PLAYBOOKS) for p in playbook_files()}
        for kind in ("netns", "libvirt"):
            for book in ("node-create", "node-delete", "node-poll", "node-action",
                         "node-clean", "link-create", "link-delete", "link-poll",
                         "link-clean"):
                self.assertIn(f"{kind}/{book}.yml", names)


for _path in playbook_files():
    _name = "test_" + os.path.relpath(_path, PLAYBOOKS).replace("/", "_").replace(
        "-", "_").replace(".yml", "")
    setattr(SyntaxTests, _name, _syntax_test(_path))
del _path, _name
