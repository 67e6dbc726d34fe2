"""Narrowing a multi-aggregate request to what one aggregate must provide.

omni sends the same request RSpec to every aggregate it names; each
aggregate provides the nodes whose ``component_manager_id`` is its own (or
absent) and skips the rest. Here:

* a node with no ``component_manager_id``, or one of this aggregate's
  authority, is ours; any other is skipped (its client id goes to
  ``skipped_nodes``);
* a node of ours that is bound (``component_id``) must name a node URN of
  this aggregate's authority, else BadArgs (bound to another aggregate, or
  not a URN at all, e.g. a template placeholder);
* a link is ours if one of its interfaces is on one of our nodes; links
  entirely between other aggregates' nodes are skipped. A kept link may
  still reach other aggregates (``Request.remote_interface_refs``); whether
  that can be provided is the aggregate's decision.
"""
from dataclasses import replace

from gam.errors import BadArgs
from gam.rspec import _urn


def for_aggregate(request, component_manager_id):
    """The part of ``request`` that ``component_manager_id`` must provide."""
    mine = _urn.split(component_manager_id)
    if mine is None:
        raise ValueError("component_manager_id %r is not a URN" % (component_manager_id,))
    authority = mine[0]
    nodes, skipped = [], []
    for node in request.nodes:
        if node.component_manager_id is not None and not _is_ours(
                node.component_manager_id, authority):
            skipped.append(node.client_id)
            continue
        if node.component_id is not None:
            _check_bound(node, authority)
        nodes.append(node)
    local = {n.client_id for n in nodes}
    links, skipped_links = [], []
    for link in request.links:
        if any(request.node_of_interface(ref) in local for ref in link.interface_refs):
            links.append(link)
        else:
            skipped_links.append(link.client_id)
    return replace(request, nodes=tuple(nodes), links=tuple(links),
                   skipped_nodes=request.skipped_nodes + tuple(skipped),
                   skipped_links=request.skipped_links + tuple(skipped_links))


def _is_ours(cm_id, authority):
    parts = _urn.split(cm_id)
    return parts is not None and parts[1] == "authority" and _urn.same_authority(
        parts[0], authority)


def _check_bound(node, authority):
    parts = _urn.split(node.component_id)
    if parts is None or parts[1] != "node":
        raise BadArgs("node %r asks for component_id %r, which is not a node URN "
                      "(urn:publicid:IDN+%s+node+<name>): use a component_id from "
                      "ListResources, or remove it to let the aggregate choose"
                      % (node.client_id, node.component_id, authority),
                      reason="bad-component-id")
    if not _urn.same_authority(parts[0], authority):
        raise BadArgs("node %r is bound to %s, a node of another aggregate (%s), but "
                      "its component_manager_id is this aggregate's (or missing): set "
                      "component_manager_id to urn:publicid:IDN+%s+authority+cm, or "
                      "bind the node to one of this aggregate's nodes"
                      % (node.client_id, node.component_id, parts[0], parts[0]),
                      reason="bound-elsewhere")
