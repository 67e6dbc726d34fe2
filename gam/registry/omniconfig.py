"""Client configuration for a registry user: omni_config and a geni-lib context.

``omni_config`` uses omni's ``sfa`` framework pointed at this registry
(``registry`` and ``slicemgr`` are the registry's URL; ``authority`` and
``user`` are HRNs). The geni-lib context is its version 1 JSON
(``framework``, ``cert-path``, ``key-path``, ``user-name``, ``user-urn``,
``user-pubkeypath``, ``project``). geni-lib has no SFA framework: it reads
credentials from files in its data directory, which ``gam credential``
writes; the context names the generic ``pg`` framework for the
certificate and key only.
"""
import json
import os

from gam.registry.authorities import write_public_file

FRAMEWORK_NAME = "gam"


def write_files(directory, *, record, registry_url, cert_path, key_path):
    """Write the user's certificate chain, ssh keys, omni_config and context.json.

    ``record`` is the user's registry record; ``cert_path`` is where the
    certificate chain is written (it is rewritten from the record);
    ``key_path`` is the user's private key (not touched: the registry never
    keeps users' keys). Returns ``{name: path}`` of what was written.
    """
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    user = record.urn.name
    written = {}
    cert_path = os.path.abspath(cert_path)
    _write_to(cert_path, record.gid)
    written["cert"] = cert_path
    pubkey_path = os.path.join(directory, f"{user}_ssh.pub")
    if record.ssh_keys:
        write_public_file(pubkey_path, "\n".join(record.ssh_keys) + "\n")
        written["ssh_keys"] = pubkey_path

    omni_path = os.path.join(directory, "omni_config")
    write_public_file(omni_path, omni_config_text(record=record, registry_url=registry_url,
                                              cert_path=cert_path, key_path=key_path,
                                              pubkey_path=pubkey_path if record.ssh_keys
                                              else None))
    written["omni_config"] = omni_path

    context_path = os.path.join(directory, "context.json")
    write_public_file(context_path, json.dumps(geni_lib_context(
        record=record, cert_path=cert_path, key_path=key_path, pubkey_path=pubkey_path),
        indent=2) + "\n")
    written["context"] = context_path
    return written


def _write_to(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_public_file(path, text)


def omni_config_text(*, record, registry_url, cert_path, key_path, pubkey_path=None):
    user = record.urn.name
    lines = [
        "# omni_config for " + record.hrn + ", written by 'gam omni-config'.",
        "# omni talks to the gam registry with its SFA framework:",
        "#   omni -c omni_config createslice NAME / renewslice / deleteslice / listmyslices",
        "[omni]",
        f"default_cf = {FRAMEWORK_NAME}",
        f"users = {user}",
        "",
        f"[{FRAMEWORK_NAME}]",
        "type = sfa",
        f"authority = {record.parent_hrn}",
        f"user = {record.hrn}",
        f"cert = {cert_path}",
        f"key = {key_path}",
        f"registry = {registry_url}",
        f"slicemgr = {registry_url}",
        "",
        f"[{user}]",
        f"urn = {record.urn}",
    ]
    if pubkey_path:
        lines.append(f"keys = {pubkey_path}")
    else:
        lines.append("# keys = <path to your ssh public key>: the registry holds none for you")
    lines += ["", "[aggregate_nicknames]", ""]
    return "\n".join(lines)


def geni_lib_context(*, record, cert_path, key_path, pubkey_path):
    return {
        "framework": "pg",
        "cert-path": cert_path,
        "key-path": key_path,
        "user-name": record.urn.name,
        "user-urn": str(record.urn),
        "user-pubkeypath": pubkey_path,
        "project": record.parent_hrn,
    }


__all__ = ["write_files", "omni_config_text", "geni_lib_context", "FRAMEWORK_NAME"]
