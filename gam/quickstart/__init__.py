"""``gam quickstart``: a GENI testbed in a box on one Linux host, as root.

The registry and the AM run in one process (one reactor) with their own
root authority, one SQLite database, the Linux namespace driver and a small
inventory, and a ready experimenter; everything lives in one state
directory (default /var/lib/gam/quickstart) and is reused by the next run.

- ``layout``: where each file lives in the state directory
- ``configs``: the options and the gam.yaml / registry.yaml / netns.yaml written from them
- ``identities``: the AM's certificate and the experimenter, made or reused
- ``clientfiles``: omni_config, geni-lib context, a request RSpec
- ``runner``: start and stop the whole in one reactor
- ``summary``: what is printed once it is up
- ``pidfile``: one quickstart per directory, and ``--stop``
- ``command``: the ``gam quickstart`` command line
- ``demo``: a whole experiment in a few lines of standard-library Python
"""
