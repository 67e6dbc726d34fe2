"""The SFA-style registry: slice authority and clearinghouse of gam.

An HTTPS XML-RPC service on the AM's foundations (TLS with client
certificates, gam.auth, the database) that keeps an authority hierarchy,
users, slices and nodes, issues user certificates and the credentials any
GENI aggregate accepts. Its methods follow SFA's registry so that omni's
``sfa`` framework and sfi work against it.

- ``hrn``: HRNs, xrns and record keys
- ``records``: the records in the database (thread-side functions)
- ``authorities``: the authorities' keys on disk
- ``amidentity``: an AM's certificate, key and trust root, from the root
- ``rights``: which roles give which privileges
- ``manager``: the behaviour (register, update, remove, credentials)
- ``sfarecord``: SFA record dictionaries in and out
- ``api``: the SFA methods on the wire (argument forms, who may call them)
- the XML-RPC resource is gam.rpc's, with a FaultEnvelope (values and Faults)
- ``server``: the running service (manager + site + TLS)
- ``config``: the ``registry:`` YAML section
- ``commands``: the ``gam`` subcommands; ``omniconfig``: client configuration
"""
