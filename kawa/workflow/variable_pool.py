"""`VariablePool`: the values of a run, addressed by selectors `[node_id, variable, *path]`.

`sys`, `env` and `conversation` are namespaces stored like nodes. Deeper path elements read object keys or file
attributes. Container runs (an iteration item, a loop round) read through a child pool layered on its parent;
writes to a name that lives in an outer layer (conversation variables, loop variables) go to that layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from kawa.workflow.values import file_attribute, is_file

SYSTEM: Final = "sys"
ENVIRONMENT: Final = "env"
CONVERSATION: Final = "conversation"
NAMESPACES: Final = frozenset({SYSTEM, ENVIRONMENT, CONVERSATION, "rag"})


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class VariablePool:
    __slots__ = ("_parent", "_root", "_values", "user_inputs")

    def __init__(
        self,
        *,
        system: Mapping[str, Any] | None = None,
        environment: Mapping[str, Any] | None = None,
        conversation: Mapping[str, Any] | None = None,
        user_inputs: Mapping[str, Any] | None = None,
        parent: VariablePool | None = None,
    ) -> None:
        self._parent = parent
        self.user_inputs: Mapping[str, Any] = (
            user_inputs if user_inputs is not None else (parent.user_inputs if parent is not None else {})
        )
        self._root: VariablePool = parent._root if parent is not None else self
        self._values: dict[str, dict[str, Any]] = {}
        if parent is None:
            self._values[SYSTEM] = dict(system or {})
            self._values[ENVIRONMENT] = dict(environment or {})
            self._values[CONVERSATION] = dict(conversation or {})

    @classmethod
    def restored(
        cls,
        values: Mapping[str, Mapping[str, Any]],
        *,
        environment: Mapping[str, Any],
        user_inputs: Mapping[str, Any],
    ) -> VariablePool:
        """A top-level pool with the values of `values()` of a paused run (environment given anew)."""
        pool = cls(environment=environment, user_inputs=user_inputs)
        for scope, scope_values in values.items():
            if scope != ENVIRONMENT:
                pool._values[scope] = dict(scope_values)
        pool._values.setdefault(CONVERSATION, {})
        pool._values.setdefault(SYSTEM, {})
        return pool

    def values(self) -> Mapping[str, Mapping[str, Any]]:
        """This layer's values by node id / namespace (read-only view, for a paused run's snapshot)."""
        return self._values

    def child(self) -> VariablePool:
        """A layer for one container run: its writes stay in it unless the name lives in an outer layer."""
        return VariablePool(parent=self)

    # -- reading

    def _scope(self, node_id: str) -> dict[str, Any] | None:
        pool: VariablePool | None = self
        while pool is not None:
            scope = pool._values.get(node_id)
            if scope is not None:
                return scope
            pool = pool._parent
        return None

    def resolve(self, selector: Sequence[str]) -> Any:
        """The value at `selector`, or `MISSING`."""
        if len(selector) < 2:
            return MISSING
        scope = self._scope(selector[0])
        if scope is None:
            return MISSING
        value = scope.get(selector[1], MISSING)
        for key in selector[2:]:
            if value is MISSING or value is None:
                return MISSING
            value = _attribute(value, key)
        return value

    def get(self, selector: Sequence[str], default: Any = None) -> Any:
        value = self.resolve(selector)
        return default if value is MISSING else value

    def contains(self, selector: Sequence[str]) -> bool:
        return self.resolve(selector) is not MISSING

    @property
    def conversation(self) -> Mapping[str, Any]:
        return self._root._values[CONVERSATION]

    @property
    def system(self) -> Mapping[str, Any]:
        return self._root._values[SYSTEM]

    # -- writing

    def set_outputs(self, node_id: str, outputs: Mapping[str, Any]) -> None:
        """Store a node's outputs in this layer (a shallow copy, so later writes never touch event payloads)."""
        self._values[node_id] = dict(outputs)

    def set(self, selector: Sequence[str], value: Any) -> None:
        """Write `[node_id, name]`; the layer already holding `node_id` wins, else this one."""
        if len(selector) != 2:
            raise ValueError(f"can only write a [node, name] selector, got {list(selector)}")
        node_id, name = selector[0], selector[1]
        pool: VariablePool | None = self
        while pool is not None:
            scope = pool._values.get(node_id)
            if scope is not None:
                scope[name] = value
                return
            pool = pool._parent
        self._values[node_id] = {name: value}


def _attribute(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        if is_file(value):
            return file_attribute(value, key)
        return value.get(key, MISSING)
    return MISSING
