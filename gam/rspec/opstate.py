"""The operational state machine gam advertises for its slivers.

One table, used to write the opstate extension of the advertisement
(``http://www.geni.net/resources/rspec/ext/opstate/1``): states with the
actions a client may call in them (``PerformOperationalAction``) and the
state each action leads to, plus ``waits``: transitions the aggregate makes
by itself when work in progress succeeds (``geni_success``) or fails
(``geni_failure``). The aggregate core can use the same table to decide
which actions are allowed in which state.
"""
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from gam.rspec.namespaces import OPSTATE

START = "geni_notready"


@dataclass(frozen=True)
class Transition:
    name: str          # action name (geni_start...) or wait type (geni_success...)
    next: str
    description: str = ""


@dataclass(frozen=True)
class OpState:
    name: str
    description: str
    actions: tuple[Transition, ...] = ()
    waits: tuple[Transition, ...] = ()


STATES = (
    OpState("geni_notready", "Provisioned but not running: call geni_start to boot it.",
            actions=(Transition("geni_start", "geni_configuring", "Boot the sliver."),)),
    OpState("geni_configuring", "Booting and installing users' keys and services.",
            waits=(Transition("geni_success", "geni_ready"),
                   Transition("geni_failure", "geni_failed"))),
    OpState("geni_ready", "Running; log in with the manifest's <login> service.",
            actions=(
                Transition("geni_stop", "geni_stopping", "Shut the sliver down."),
                Transition("geni_restart", "geni_configuring", "Reboot the sliver."),
                Transition("geni_update_users", "geni_ready",
                           "Install the accounts and SSH keys given in geni_users."),
            )),
    OpState("geni_stopping", "Shutting down.",
            waits=(Transition("geni_success", "geni_notready"),
                   Transition("geni_failure", "geni_failed"))),
    OpState("geni_failed", "Something went wrong; see geni_error in Status. Restart it, "
            "or delete it and allocate again.",
            actions=(
                Transition("geni_restart", "geni_configuring", "Try booting again."),
                Transition("geni_stop", "geni_stopping", "Shut the sliver down."),
            )),
)

_BY_NAME = {s.name: s for s in STATES}


def next_state(state, action):
    """The state ``action`` leads to from ``state``, or None if not allowed there."""
    spec = _BY_NAME.get(state)
    if spec is None:
        return None
    for transition in spec.actions:
        if transition.name == action:
            return transition.next
    return None


def actions():
    """Every action name the machine knows."""
    return sorted({t.name for s in STATES for t in s.actions})


def rspec_opstate_xml(aggregate_manager_id, sliver_types, prefix="opstate"):
    """``<opstate:rspec_opstate>`` for these sliver types, as a string.

    The prefix must be declared (bound to OPSTATE) by the enclosing element.
    """
    p = prefix + ":"
    out = ["<%srspec_opstate aggregate_manager_id=%s start=%s>"
           % (p, quoteattr(aggregate_manager_id), quoteattr(START))]
    for name in sliver_types:
        out.append("<%ssliver_type name=%s/>" % (p, quoteattr(name)))
    for state in STATES:
        out.append("<%sstate name=%s>" % (p, quoteattr(state.name)))
        for wait in state.waits:
            out.append("<%swait type=%s next=%s/>"
                       % (p, quoteattr(wait.name), quoteattr(wait.next)))
        for action in state.actions:
            out.append("<%saction name=%s next=%s><%sdescription>%s</%sdescription>"
                       "</%saction>" % (p, quoteattr(action.name), quoteattr(action.next),
                                        p, escape(action.description), p, p))
        out.append("<%sdescription>%s</%sdescription></%sstate>"
                   % (p, escape(state.description), p, p))
    out.append("</%srspec_opstate>" % p)
    return "".join(out)


__all__ = ["OPSTATE", "START", "STATES", "OpState", "Transition", "next_state", "actions",
           "rspec_opstate_xml"]
