"""The bundled GENI RSpec v3 schemas, loaded offline, and validation with them.

The schemas live in ``gam/rspec/schemas/`` (package data). They include one
another by relative path; a resolver maps every reference, including the
official ``http://www.geni.net/resources/rspec/3/*.xsd`` addresses, to the
bundled file, and refuses anything else, so loading never touches the
network. Elements and attributes in other namespaces are checked *lax*
(``xs:any processContents="lax"`` in the core schemas): gam loads no schema
for them, so they pass as long as they are well-formed and namespaced.

Compiled schemas are cached per thread: an ``XMLSchema`` object keeps the
error log of its last run, so one object must not validate in two threads
at once.
"""
import os
import threading
from urllib.parse import urlsplit
from urllib.request import url2pathname

from lxml import etree

from gam.rspec.namespaces import RSPEC3

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")

#: RSpec type -> top-level schema file.
SCHEMA_FILES = {
    "request": "request.xsd",
    "manifest": "manifest.xsd",
    "advertisement": "ad.xsd",
}

_local = threading.local()


class SchemaLoadError(RuntimeError):
    """A bundled schema is missing or refers to something outside the bundle."""


class _BundleResolver(etree.Resolver):
    """Resolve schema references to files inside SCHEMA_DIR, and only there."""

    def resolve(self, system_url, public_id, context):
        path = _local_path(system_url)
        if path is None:
            raise SchemaLoadError(
                "schema reference %r is not in the bundled schemas (%s); "
                "gam never loads schemas from the network" % (system_url, SCHEMA_DIR))
        return self.resolve_filename(path, context)


def _local_path(system_url):
    """The bundled file a schema reference points to, or None."""
    if system_url.startswith(RSPEC3 + "/"):
        candidate = os.path.join(SCHEMA_DIR, system_url[len(RSPEC3) + 1:])
    else:
        parts = urlsplit(system_url)
        if parts.scheme in ("", "file"):
            candidate = url2pathname(parts.path) if parts.scheme else system_url
        elif len(parts.scheme) == 1:  # a Windows drive letter
            candidate = system_url
        else:
            return None
    candidate = os.path.realpath(candidate)
    root = os.path.realpath(SCHEMA_DIR)
    if os.path.commonpath([candidate, root]) != root or not os.path.isfile(candidate):
        return None
    return candidate


def _schema_parser():
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_BundleResolver())
    return parser


def load_schema(kind):
    """The compiled schema for ``kind`` ('request', 'manifest' or 'advertisement').

    Cached per thread. Raises SchemaLoadError if the bundle is broken.
    """
    cache = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    schema = cache.get(kind)
    if schema is None:
        try:
            filename = SCHEMA_FILES[kind]
        except KeyError:
            raise ValueError("unknown RSpec type %r; expected one of %s"
                             % (kind, ", ".join(sorted(SCHEMA_FILES))))
        path = os.path.join(SCHEMA_DIR, filename)
        try:
            doc = etree.parse(path, _schema_parser())
            schema = etree.XMLSchema(doc)
        except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
            raise SchemaLoadError("cannot load the bundled %s schema %s: %s"
                                  % (kind, path, exc)) from exc
        cache[kind] = schema
    return schema


def _short(message):
    """Make libxml2's messages easier to read: drop the RSpec v3 namespace."""
    return message.replace("{%s}" % RSPEC3, "")


def schema_errors(tree, kind, limit=None):
    """Validate ``tree`` (an element or element tree) against the ``kind`` schema.

    Returns a list of ``"line N: message"`` strings, empty when valid.
    """
    schema = load_schema(kind)
    if schema.validate(tree):
        return []
    errors = ["line %d: %s" % (entry.line, _short(entry.message))
              for entry in schema.error_log]
    if limit is not None:
        errors = errors[:limit]
    return errors


def validate_document(document, kind):
    """Parse a document we produced (str or bytes) and return its schema errors."""
    if isinstance(document, str):
        document = document.encode("utf-8")
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    tree = etree.fromstring(document, parser).getroottree()
    return schema_errors(tree, kind)
