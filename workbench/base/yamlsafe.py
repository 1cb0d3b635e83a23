"""The one way YAML is read: ``yaml.safe_load`` with limits on nesting and on aliases.

Safe loading alone does not protect against size: a few hundred bytes of nested aliases
("billion laughs") describe a document of billions of nodes, which every later walk over it
expands; and a deeply nested document exhausts Python's recursion in the composer. Both are
refused while composing, before any object is built, with a ``yaml.YAMLError`` that names
the line, so callers report it the way they report any invalid YAML.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

#: Deeper than any configuration we read, far below Python's recursion limit.
MAX_DEPTH = 64
#: Nodes of the document with every alias expanded (the shipped files have a few thousand).
MAX_NODES = 1_000_000


class YAMLLimitError(yaml.YAMLError):
    """The document exceeds a nesting or expanded-size limit."""


class _LimitedLoader(yaml.SafeLoader):
    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        mark = self.peek_event().start_mark
        if self._depth >= MAX_DEPTH:
            raise YAMLLimitError(
                f"nesting deeper than {MAX_DEPTH} levels at line {mark.line + 1}, column "
                f"{mark.column + 1}; a configuration file is never that deep"
            )
        alias = self.check_event(AliasEvent)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None and not alias:
            total = self._size(node)
            if total > MAX_NODES:
                raise YAMLLimitError(
                    f"the document expands to more than {MAX_NODES:,} values through its "
                    f"aliases (&anchor/*alias) near line {mark.line + 1}; write the values "
                    "out, or use fewer nested aliases"
                )
        return node

    def _size(self, node: Node) -> int:
        """Expanded node count; children are composed (and sized) before their parent."""
        key = id(node)
        if key not in self._sizes:
            if isinstance(node, SequenceNode):
                n = 1 + sum(self._sizes.get(id(c), 1) for c in node.value)
            elif isinstance(node, MappingNode):
                n = 1 + sum(
                    self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value
                )
            else:
                n = 1
            self._sizes[key] = n
        return self._sizes[key]


def load(stream: str | bytes | Any) -> Any:
    """``yaml.safe_load`` within ``MAX_DEPTH`` and ``MAX_NODES``; raises ``yaml.YAMLError``."""
    loader = _LimitedLoader(stream)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
