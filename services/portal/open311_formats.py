"""Open311 documents written out as JSON or XML, the two formats GeoReport v2 names by suffix
(`services.json`, `services.xml`).

A document is plain data: a list of records or one record, each a dict whose values are text,
numbers, booleans, nested records or lists. A field that is None is left out of both formats.
In XML a list is an element holding one child per item, named as GeoReport v2 names it
(`<attributes><attribute>`, `<values><value>`, ...).
"""

import json
import re
from xml.etree import ElementTree

from flask import Response

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
ITEM_ELEMENTS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
# Characters XML 1.0 cannot carry at all; intake refuses them in reports, this is the last guard.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(document: list | dict, fmt: str, *, root: str, item: str = "", status: int = 200) -> Response:
    """The document as a response in `fmt` (json or xml): in XML, under `root`, a list's records
    each as an `item` element."""
    if fmt == "xml":
        body = to_xml(document, root=root, item=item)
    else:
        body = json.dumps(_without_none(document), ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, content_type=FORMATS.get(fmt, FORMATS["json"]))


def to_xml(document: list | dict, *, root: str, item: str = "") -> str:
    element = ElementTree.Element(root)
    if isinstance(document, list):
        for record in document:
            _fill(ElementTree.SubElement(element, item), record)
    else:
        _fill(element, document)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(element, encoding="unicode")


def _fill(element: ElementTree.Element, value) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            if child is not None:
                _fill(ElementTree.SubElement(element, name), child)
    elif isinstance(value, list):
        for child in value:
            _fill(ElementTree.SubElement(element, ITEM_ELEMENTS[element.tag]), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("", str(value))


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
