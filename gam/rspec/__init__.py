"""GENI RSpec v3: read requests, write advertisements and manifests.

The bundled schemas are in ``schemas/`` (package data). Main entry points::

    parse_request(document, *, max_bytes=2_000_000, component_manager_id=None) -> Request
    build_advertisement(inventory, *, available=None, available_only=False) -> str
    build_manifest(parts) -> str
    compress_rspec(text) -> str / decompress_rspec(value) -> str
"""
from gam.rspec.advertisement import build_advertisement, build_compressed_advertisement
from gam.rspec.compress import compress_rspec, decompress_rspec
from gam.rspec.manifest import (
    InterfacePart, LinkInterfacePart, LinkPart, Login, NodePart, build_manifest)
from gam.rspec.model import (
    IP, DiskImageRef, ExecuteService, Extension, InstallService, LinkProperty, Request,
    RequestInterface, RequestLink, RequestNode, Services)
from gam.rspec.request import parse_request

__all__ = [
    "parse_request", "build_advertisement", "build_compressed_advertisement",
    "build_manifest", "compress_rspec", "decompress_rspec",
    "NodePart", "LinkPart", "InterfacePart", "LinkInterfacePart", "Login",
    "Request", "RequestNode", "RequestLink", "RequestInterface", "IP", "DiskImageRef",
    "Services", "InstallService", "ExecuteService", "LinkProperty", "Extension",
]
