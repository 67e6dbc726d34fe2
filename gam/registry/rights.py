"""Who gets which privileges on a record, as SFA computes them from roles.

- a slice: its researchers and the PIs of the slice's authority get
  ``refresh, embed, bind, control, info``;
- an authority: its PIs get ``authority, sa, pi``;
- a user: the user alone gets ``refresh, resolve, info``;
- a node: the PIs of the node's authority get ``operator``.

Every privilege is delegatable, as SFA issues them. Nobody else gets
anything; the registry refuses to issue an empty credential.
"""
from gam.auth.privileges import SLICE_PRIVILEGES, USER_PRIVILEGES

AUTHORITY_PRIVILEGES = ("authority", "sa", "pi")
NODE_PRIVILEGES = ("operator",)


def privileges_for(caller_urn, record, parent_pis):
    """The privilege names ``caller_urn`` holds on ``record`` (empty if none).

    ``parent_pis`` are the PIs of the authority the record lives in.
    """
    if record.type == "slice":
        if caller_urn in record.researchers or caller_urn in parent_pis:
            return SLICE_PRIVILEGES
    elif record.type == "authority":
        if caller_urn in record.pis:
            return AUTHORITY_PRIVILEGES
    elif record.type == "user":
        if caller_urn == record.urn:
            return USER_PRIVILEGES
    elif record.type == "node":
        if caller_urn in parent_pis:
            return NODE_PRIVILEGES
    return ()


def why_not(caller_urn, record):
    """A sentence telling ``caller_urn`` why they hold nothing on ``record``."""
    if record.type == "slice":
        return (f"{caller_urn} is neither a researcher of slice {record.urn} nor a PI of its "
                f"authority; ask a PI of {record.parent_hrn} to add you to the slice")
    if record.type == "authority":
        return (f"{caller_urn} is not a PI of authority {record.hrn}; ask a PI of its parent "
                "authority to add you")
    if record.type == "user":
        return f"a user credential is issued only to the user it names ({record.urn})"
    return f"{caller_urn} is not a PI of {record.parent_hrn}, which the node belongs to"


__all__ = ["AUTHORITY_PRIVILEGES", "NODE_PRIVILEGES", "SLICE_PRIVILEGES", "USER_PRIVILEGES",
           "privileges_for", "why_not"]
