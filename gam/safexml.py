"""Parsing untrusted XML documents safely.

No entity expansion, no DTD loading, no network, no huge trees; a document
with a DOCTYPE is refused outright (an RSpec never needs one, and refusing
them all also refuses every entity trick: XXE, billion laughs); the size
limit is checked before any parsing.
"""
import re
import threading

from lxml import etree

from gam.errors import BadArgs

DEFAULT_MAX_BYTES = 2_000_000

_XML_DECL = re.compile(r"^\s*<\?xml\b[^>]*\?>")
# A DOCTYPE in the prolog (after the declaration, comments and PIs).
# Each alternative consumes exactly its construct (no lazy ".*?" that could
# run on to the end of the document looking for a later "?>").
_PROLOG_DOCTYPE = re.compile(
    rb"^(?:\xef\xbb\xbf)?(?:\s|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->)*<!DOCTYPE")


def safe_parser():
    """A fresh lxml parser configured for untrusted input."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_blank_text=False)


_local = threading.local()


def _thread_parser():
    """This thread's parser for untrusted input: an lxml parser serves one
    thread at a time, and one made per document showed (a few microseconds)
    in the cold credential verification figures."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = safe_parser()
    return parser


def to_bytes(document, *, max_bytes, what="document"):
    """Check type and size of ``document`` and return it as bytes.

    A str is encoded as UTF-8 after dropping its XML declaration (whose
    encoding, if any, no longer applies); line numbers stay the same.
    """
    if isinstance(document, str):
        if len(document) > max_bytes:  # every character is at least one byte
            _too_big(len(document), max_bytes, what)
        document = _XML_DECL.sub("", document, count=1).encode("utf-8")
    elif isinstance(document, (bytes, bytearray, memoryview)):
        document = bytes(document)
    else:
        raise BadArgs("the %s must be a string of XML, not %s: send the RSpec as a string"
                      % (what, type(document).__name__))
    if len(document) > max_bytes:
        _too_big(len(document), max_bytes, what)
    if not document or document.isspace():
        raise BadArgs("the %s is empty: send an RSpec document" % what)
    return document


def _too_big(size, max_bytes, what):
    raise BadArgs("the %s is %d bytes long, more than the limit of %d bytes: "
                  "send a smaller RSpec (split the request into several calls)"
                  % (what, size, max_bytes), reason="too-big")


def parse_untrusted(document, *, max_bytes=DEFAULT_MAX_BYTES, what="document"):
    """Parse an untrusted XML document into an lxml ElementTree.

    Raises BadArgs (with the line) if it is too big, not well-formed, or
    carries a DOCTYPE.
    """
    data = to_bytes(document, max_bytes=max_bytes, what=what)
    if _PROLOG_DOCTYPE.match(data, 0, 65536):
        _refuse_doctype(what)
    try:
        root = etree.fromstring(data, _thread_parser())
    except etree.XMLSyntaxError as exc:
        raise BadArgs("the %s is not well-formed XML (%s): fix the XML and send it again"
                      % (what, exc.msg), reason="malformed-xml") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        _refuse_doctype(what)
    return tree


def _refuse_doctype(what):
    raise BadArgs("the %s has a DOCTYPE declaration; RSpecs must not carry one "
                  "(entities and DTDs are refused for safety): remove the "
                  "<!DOCTYPE ...> and send it again" % what, reason="doctype")
