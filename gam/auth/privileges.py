"""The one table from credential privileges to the operations they allow.

Credentials carry SFA privilege names (``refresh``, ``embed``, ``bind``,
``control``, ``info`` for a slice; ``refresh``, ``resolve``, ``info`` for a
user; ``authority``, ``pi``... for authorities). Each implies a set of
operations, and each API method needs one of a set of operations. Both
tables live here and nowhere else.
"""

# privilege name -> operations it implies (SFA's rights table, as omni and
# the gcf AM apply it).
PRIVILEGE_OPERATIONS = {
    "authority": frozenset({"register", "remove", "update", "resolve", "list",
                            "getcredential", "getversion"}),
    "pi": frozenset({"register", "remove", "update", "resolve", "list", "getcredential"}),
    "refresh": frozenset({"remove", "update", "getcredential"}),
    "resolve": frozenset({"resolve", "list", "getcredential", "getversion"}),
    "sa": frozenset({"createslice", "createsliver", "deleteslice", "deletesliver",
                     "updateslice", "getsliceresources", "stopslice", "startslice",
                     "renewsliver", "resetslice", "listslices", "listnodes",
                     "sliverstatus", "shutdown"}),
    "embed": frozenset({"createslice", "createsliver", "renewsliver", "deleteslice",
                        "deletesliver", "updateslice", "sliverstatus",
                        "getsliceresources", "shutdown"}),
    "bind": frozenset({"getticket", "loanresources", "redeemticket"}),
    "control": frozenset({"updateslice", "createslice", "createsliver", "renewsliver",
                          "sliverstatus", "stopslice", "startslice", "deleteslice",
                          "deletesliver", "resetslice", "getsliceresources", "shutdown"}),
    "info": frozenset({"listslices", "listnodes", "getpolicy", "sliverstatus"}),
    "operator": frozenset({"shutdown", "sliverstatus", "listnodes", "listslices"}),
}
# ``*`` grants every operation.
ALL = "*"

# API method -> operations, any one of which allows the call.
METHOD_OPERATIONS = {
    # AM API v3
    "ListResources": frozenset({"listnodes"}),
    "Describe": frozenset({"sliverstatus"}),
    "Allocate": frozenset({"createsliver"}),
    "Renew": frozenset({"renewsliver"}),
    "Provision": frozenset({"createsliver"}),
    "Status": frozenset({"sliverstatus"}),
    "PerformOperationalAction": frozenset({"createsliver", "startslice"}),
    "Delete": frozenset({"deletesliver"}),
    "Shutdown": frozenset({"shutdown"}),
    # AM API v2 names served by the same core
    "CreateSliver": frozenset({"createsliver"}),
    "SliverStatus": frozenset({"sliverstatus"}),
    "RenewSliver": frozenset({"renewsliver"}),
    "DeleteSliver": frozenset({"deletesliver"}),
    # SFA registry
    "Resolve": frozenset({"resolve"}),
    "List": frozenset({"list"}),
    "Register": frozenset({"register"}),
    "Update": frozenset({"update"}),
    "Remove": frozenset({"remove"}),
    "GetCredential": frozenset({"getcredential"}),
}

# The standard grants an authority hands out.
SLICE_PRIVILEGES = ("refresh", "embed", "bind", "control", "info")
USER_PRIVILEGES = ("refresh", "resolve", "info")


def operations_of(privilege_names):
    ops = set()
    for name in privilege_names:
        ops |= PRIVILEGE_OPERATIONS.get(name, frozenset())
    return ops


def allows(privilege_names, method):
    """True when privileges named ``privilege_names`` allow ``method``."""
    if ALL in privilege_names:
        return True
    needed = METHOD_OPERATIONS.get(method)
    if needed is None:
        raise KeyError(f"no privilege rule for method {method!r}")
    return bool(needed & operations_of(privilege_names))
