"""The experimenter's client files: omni_config, geni-lib context, a request RSpec.

``omni_config`` and ``context.json`` come from the registry's own writer
(:mod:`gam.registry.omniconfig`); the quickstart adds the AM under the
nickname ``gam`` (``omni -a gam ...``), a two-node request, and copies of
the credentials named as geni-lib looks for them in its data directory.
"""
import os

from gam.registry.authorities import write_public_file
from gam.registry.omniconfig import write_files

AM_NICKNAME = "gam"

TWO_NODES = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Two nodes on one LAN; the aggregate picks the hosts. -->
<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">
  <node client_id="node-a" component_manager_id="{cm}" exclusive="false">
    <sliver_type name="default-vm"/>
    <interface client_id="node-a:if0">
      <ip address="10.10.1.1" netmask="255.255.255.0" type="ipv4"/>
    </interface>
  </node>
  <node client_id="node-b" component_manager_id="{cm}" exclusive="false">
    <sliver_type name="default-vm"/>
    <interface client_id="node-b:if0">
      <ip address="10.10.1.2" netmask="255.255.255.0" type="ipv4"/>
    </interface>
  </node>
  <link client_id="lan0">
    <interface_ref client_id="node-a:if0"/>
    <interface_ref client_id="node-b:if0"/>
  </link>
</rspec>
"""


def add_nickname(text, nickname, am_urn, am_url):
    """omni_config text with ``nickname=urn,url`` under [aggregate_nicknames]."""
    line = f"{nickname}={am_urn},{am_url}"
    section = "[aggregate_nicknames]"
    if section not in text:
        return text.rstrip("\n") + f"\n\n{section}\n{line}\n"
    head, tail = text.split(section, 1)
    kept = [ln for ln in tail.splitlines() if not ln.startswith(f"{nickname}=")]
    body = "\n".join([line] + [ln for ln in kept if ln.strip()])
    return f"{head}{section}\n{body}\n"


#: geni-lib's name for the framework that context.json names ("pg").
GENILIB_FRAMEWORK = "emulab"


def genilib_credentials(directory, experimenter, user_record, slice_name):
    """Copies of the credentials under the names geni-lib looks for in its data
    directory (``<framework>-<project>-<slice>-scred.xml``,
    ``<framework>-<user>-usercred.xml``); returns that directory."""
    folder = os.path.join(directory, "geni-lib")
    os.makedirs(folder, exist_ok=True)
    user = user_record.urn.name
    for source, name in (
            (experimenter.slice_credential,
             f"{GENILIB_FRAMEWORK}-{user_record.parent_hrn}-{slice_name}-scred.xml"),
            (experimenter.user_credential, f"{GENILIB_FRAMEWORK}-{user}-usercred.xml")):
        with open(source, encoding="utf-8") as f:
            write_public_file(os.path.join(folder, name), f.read())
    return folder


def write_client_files(layout, experimenter, user_record, *, registry_url, am_urn, am_url,
                       component_manager_id, slice_name):
    """Write omni_config, context.json, geni-lib's credentials and
    two-nodes.rspec; return {what: path}."""
    directory = layout.experimenter_dir
    written = write_files(directory, record=user_record, registry_url=registry_url,
                          cert_path=experimenter.cert, key_path=experimenter.key)
    omni_path = written["omni_config"]
    with open(omni_path, encoding="utf-8") as f:
        text = f.read()
    write_public_file(omni_path, add_nickname(text, AM_NICKNAME, am_urn, am_url))
    rspec = os.path.join(directory, "two-nodes.rspec")
    write_public_file(rspec, TWO_NODES.format(cm=component_manager_id))
    genilib = genilib_credentials(directory, experimenter, user_record, slice_name)
    return {"omni_config": omni_path, "context": written["context"], "rspec": rspec,
            "geni-lib": genilib}


__all__ = ["write_client_files", "add_nickname", "genilib_credentials", "AM_NICKNAME",
           "TWO_NODES"]
