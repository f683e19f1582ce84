"""The elements of a stored process model, read from its XML: the flow nodes the cockpit shows, and what
changed between two versions. The engine's spec drops what a diff needs (flow ids, documentation,
extensions as written), so this reads the XML the version was deployed with (parsed by lxml at deploy;
entities are not resolved and the network is not touched here either)."""

from dataclasses import dataclass

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)

ACTIVITIES = frozenset({"task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
                        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
                      "complexGateway"})
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
# Children of an element compared on their own, not as part of what else it holds.
_ASPECTS = {"documentation": "documentation", "extensionElements": "extensions", "incoming": "incoming",
            "outgoing": "outgoing", "conditionExpression": "condition", "script": "script"}


@dataclass(frozen=True)
class Element:
    """A flow node, sequence flow or message of a model, with what a diff compares."""
    id: str
    type: str  # the BPMN tag, e.g. serviceTask, boundaryEvent, sequenceFlow, message
    name: str
    aspects: tuple[tuple[str, str], ...]  # (name, canonical text): name, documentation, extensions, ...

    @property
    def is_flow_node(self) -> bool:
        return self.type in FLOW_NODES


@dataclass(frozen=True)
class ElementChange:
    element_id: str
    type: str
    name: str
    change: str  # added, removed, changed
    what: tuple[str, ...] = ()


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _canonical(nodes) -> str:
    """The nodes as text, without insignificant whitespace between elements."""
    parts = []
    for node in nodes:
        node = etree.fromstring(etree.tostring(node), _PARSER)
        for n in node.iter():
            if n.text is not None and not n.text.strip():
                n.text = None
            if n.tail is not None and not n.tail.strip():
                n.tail = None
        parts.append(etree.tostring(node, method="c14n").decode())
    return "\n".join(parts)


def _element(node) -> Element:
    kind = _local(node.tag)
    aspects: dict[str, list] = {}
    other = []  # event definitions, loop characteristics, ...: what the element does beyond its flows
    for child in node:
        name = _local(child.tag)
        if not name:
            continue
        if name in _ASPECTS:
            aspects.setdefault(_ASPECTS[name], []).append(child)
        elif kind not in ("subProcess", "transaction", "adHocSubProcess"):  # a subprocess's nodes are elements
            other.append(child)
    values = {"name": node.get("name", "")}
    for aspect, children in aspects.items():
        if aspect in ("incoming", "outgoing"):
            values[aspect] = " ".join(sorted((c.text or "").strip() for c in children))
        else:
            values[aspect] = _canonical(children)
    if other:
        values["definition"] = _canonical(other)
    attributes = sorted((k, v) for k, v in node.attrib.items() if k not in ("id", "name"))
    if attributes:
        values["attributes"] = " ".join(f"{_local(k) or k}={v}" for k, v in attributes)
    return Element(node.get("id"), kind, node.get("name", ""), tuple(sorted(values.items())))


def parse_elements(bpmn: str) -> list[Element]:
    """The model's flow nodes, sequence flows and messages in document order (subprocesses included)."""
    root = etree.fromstring(bpmn.encode(), _PARSER)
    found = []
    for node in root.iter():
        kind = _local(node.tag)
        if etree.QName(node.tag).namespace != BPMN or not node.get("id"):
            continue
        if kind in FLOW_NODES or kind == "sequenceFlow" or (kind == "message" and node.getparent() is root):
            found.append(_element(node))
    return found


def flow_nodes(bpmn: str) -> list[Element]:
    return [e for e in parse_elements(bpmn) if e.is_flow_node]


def compare(older: str, newer: str) -> list[ElementChange]:
    """What changed from `older` to `newer`, by element id: the newer model's elements added or changed,
    in its order, then the elements removed, in the older model's order. `what` names the aspects that
    differ: type, name, documentation, extensions, definition (event definitions such as timers),
    script, condition, incoming, outgoing, attributes (sourceRef, targetRef, attachedToRef, ...)."""
    before = {e.id: e for e in parse_elements(older)}
    after = parse_elements(newer)
    changes = []
    for element in after:
        old = before.get(element.id)
        if old is None:
            changes.append(ElementChange(element.id, element.type, element.name, "added"))
            continue
        what = ["type"] if old.type != element.type else []
        old_aspects, new_aspects = dict(old.aspects), dict(element.aspects)
        what += [a for a in sorted(old_aspects.keys() | new_aspects.keys()) if old_aspects.get(a) != new_aspects.get(a)]
        if what:
            changes.append(ElementChange(element.id, element.type, element.name, "changed", tuple(what)))
    kept = {e.id for e in after}
    changes += [ElementChange(e.id, e.type, e.name, "removed") for e in before.values() if e.id not in kept]
    return changes
