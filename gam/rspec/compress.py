"""``geni_compressed`` RSpecs: base64 of the zlib-compressed UTF-8 text.

This is what omni and jFed expect from ListResources and Describe when the
option ``geni_compressed`` is true (omni undoes it with
``zlib.decompress(base64.b64decode(value))``).
"""
import base64
import binascii
import zlib

from gam.errors import BadArgs


def compress_rspec(rspec):
    """base64(zlib(rspec)) as an ASCII string."""
    if isinstance(rspec, str):
        rspec = rspec.encode("utf-8")
    return base64.b64encode(zlib.compress(rspec)).decode("ascii")


def decompress_rspec(value, *, max_bytes=50_000_000):
    """The RSpec text inside a ``geni_compressed`` value (bounded, for untrusted input)."""
    try:
        data = base64.b64decode(value, validate=True)
        inflater = zlib.decompressobj()
        text = inflater.decompress(data, max_bytes)
        if not inflater.unconsumed_tail:
            text += inflater.flush()
        if inflater.unconsumed_tail or len(text) > max_bytes:
            raise BadArgs("the compressed RSpec expands to more than %d bytes: send a "
                          "smaller one" % max_bytes, reason="too-big")
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise BadArgs("the compressed RSpec is not base64 of zlib data (%s): send it as "
                      "base64(zlib(rspec)) or uncompressed" % exc) from None
    return text.decode("utf-8")
