"""A call's way through the IVR as the event log tells it, for the reduction to keep.

``IvrPath`` holds the flows a call entered, the nodes it passed with the time spent in
each, the digits it pressed, the lookups made for it, its variables and how it left.
Only calls that entered a flow have one, so calls that never meet the IVR cost nothing.
"""

from __future__ import annotations

import json

from appliance.events import IvrExited, IvrExitKind


class NodeVisit:
    """One stay in a node: from its ``IvrNodeEntered`` to the next node, flow or exit."""

    __slots__ = ("entered", "flow", "kind", "node", "seconds")

    def __init__(self, flow: str, node: str, kind: str, entered: float) -> None:
        self.flow = flow
        self.node = node
        self.kind = kind
        self.entered = entered
        self.seconds: float | None = None  # None while the caller is still there


class IvrPath:
    """What the records have said about one call in the IVR so far."""

    __slots__ = (
        "digits", "entered", "exit", "flows", "language", "left", "lookups", "steps",
        "target", "variables",
    )

    def __init__(self, entered: float) -> None:
        self.entered = entered
        self.flows: list[str] = []  # in the order entered; a flow re-entered is listed again
        self.steps: list[NodeVisit] = []
        self.digits: list[tuple[str, str, str]] = []  # (node, digits, ended_by)
        self.lookups: list[tuple[str, str, str]] = []  # (lookup, key, result)
        self.variables: dict[str, str] = {}
        self.exit: IvrExitKind | None = None  # None: no IvrExited (yet, or ever)
        self.target = ""
        self.language = ""
        self.left: float | None = None  # when the stay ended (exit, call end or records end)

    def enter_node(self, flow: str, node: str, kind: str, t: float) -> None:
        self.close_node(t)
        self.steps.append(NodeVisit(flow, node, kind, t))

    def close_node(self, t: float) -> None:
        """The caller left the current node at ``t`` (nothing if no node is open)."""
        if self.steps and self.steps[-1].seconds is None:
            step = self.steps[-1]
            step.seconds = t - step.entered

    def exited(self, r: IvrExited) -> None:
        self.close_node(r.t)
        self.exit, self.target, self.language = r.kind, r.target, r.language
        self.variables = dict(r.variables)
        self.left = r.t

    def end(self, t: float) -> None:
        """The call ended, or the records did, at ``t``: a stay still open ends there."""
        if self.left is None:
            self.close_node(t)
            self.left = t

    @property
    def seconds(self) -> float:
        """Time in the IVR, from the first flow to the exit (so far, while in it)."""
        return 0.0 if self.left is None else self.left - self.entered

    @property
    def last_flow(self) -> str:
        """The flow the call was in last: the one its exit belongs to."""
        return self.flows[-1] if self.flows else ""

    def path_text(self) -> str:
        """The nodes in order, then the exit: "main/menu > main/find > queue:sales"."""
        nodes = [f"{step.flow}/{step.node}" for step in self.steps]
        if self.exit is not None:
            nodes.append(f"{self.exit.value}:{self.target}" if self.target else self.exit.value)
        return " > ".join(nodes)

    def details_json(self) -> str:
        """The nodes with their kinds and seconds, and the digits, as one JSON object."""
        return json.dumps({
            "nodes": [[s.flow, s.node, s.kind, s.seconds] for s in self.steps],
            "digits": [list(d) for d in self.digits],
        }, separators=(",", ":"))
