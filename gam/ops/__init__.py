"""Operator and experimenter views of a running gam.

- ``text``: aligned columns, relative times ("in 9m")
- ``sources``: which configuration a command reads (-c FILE or a quickstart --dir)
- ``views``: read-only queries of the AM's database
- ``status``: ``gam status`` and ``gam slice show``
- ``amclient``: a small AM API v3 client over TLS (standard library)
- ``wait``: ``gam wait SLICE``, following Status until every sliver is ready or failed
"""
