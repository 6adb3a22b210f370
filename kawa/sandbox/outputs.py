"""Checking a code node's result against its declared outputs and Dify's output limits.

Behaviour follows Dify's code node: scientific-notation strings ("1e5") become numbers first; every declared
output must be present and nothing undeclared may be returned; `None` is accepted for any type; booleans in
number outputs become 0/1; strings lose NUL characters. Error messages name the offending output by its path
(`items[2].name`). Without declared outputs the result is only checked for valid types and limits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from kawa.sandbox.errors import DepthLimitError, OutputValidationError
from kawa.sandbox.settings import OutputLimits

_SCIENTIFIC = re.compile(r"^-?\d+\.?\d*e[+-]\d+$", re.IGNORECASE)
OUTPUT_TYPES = frozenset(
    {
        "string",
        "number",
        "object",
        "boolean",
        "array[string]",
        "array[number]",
        "array[object]",
        "array[boolean]",
    }
)


class OutputDeclaration(BaseModel):
    """One entry of a code node's `outputs`: `{type, children}` (children for `object`/`array[object]`)."""

    type: str
    children: dict[str, OutputDeclaration] | None = None


Declarations = Mapping[str, "OutputDeclaration | Mapping[str, Any]"]


def scientific_strings_to_numbers(value: Any) -> Any:
    """Strings such as "1.5e-07" become floats, anywhere in the value (Dify does this to every code result)."""
    if isinstance(value, str):
        if _SCIENTIFIC.match(value):
            try:
                return float(value)
            except ValueError:
                return value
        return value
    if isinstance(value, dict):
        return {key: scientific_strings_to_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scientific_strings_to_numbers(item) for item in value]
    return value


def check_outputs(
    result: Mapping[str, Any], declared: Declarations | None, limits: OutputLimits | None = None
) -> dict[str, Any]:
    """Validate `result` and return it transformed as Dify does. Raises `OutputValidationError`."""
    checker = _Checker(limits or OutputLimits())
    normalised = scientific_strings_to_numbers(dict(result))
    if declared is None:
        checker.untyped(normalised, "", 1)
        return dict(normalised)
    return checker.typed(normalised, _declarations(declared), "", 1)


def _declarations(declared: Declarations) -> dict[str, OutputDeclaration]:
    return {
        name: spec if isinstance(spec, OutputDeclaration) else OutputDeclaration.model_validate(spec)
        for name, spec in declared.items()
    }


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _type_name(value: Any) -> str:
    return type(value).__name__


class _Checker:
    def __init__(self, limits: OutputLimits) -> None:
        self.limits = limits

    def depth(self, depth: int) -> None:
        if depth > self.limits.max_depth:
            raise DepthLimitError(f"Depth limit {self.limits.max_depth} reached, object too deep.")

    def string(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise OutputValidationError(f"Output {path} must be a string, got {_type_name(value)} instead.")
        if len(value) > self.limits.max_string_length:
            raise OutputValidationError(
                f"The length of output variable `{path}` must be less than {self.limits.max_string_length} characters."
            )
        return value.replace("\x00", "")

    def number(self, value: Any, path: str) -> int | float | None:
        if value is None:
            return None
        if not isinstance(value, int | float):
            raise OutputValidationError(f"Output {path} is not a number, got {_type_name(value)} instead.")
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise OutputValidationError(f"Output variable `{path}` must be a finite number, got {value}.")
        if value > self.limits.max_number or value < self.limits.min_number:
            raise OutputValidationError(
                f"Output variable `{path}` is out of range, it must be between "
                f"{self.limits.min_number} and {self.limits.max_number}."
            )
        if isinstance(value, float):
            exponent = Decimal(str(value)).normalize().as_tuple().exponent
            precision = -exponent if isinstance(exponent, int) and exponent < 0 else 0
            if precision > self.limits.max_precision:
                raise OutputValidationError(
                    f"Output variable `{path}` has too high precision, "
                    f"it must be less than {self.limits.max_precision} digits."
                )
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise OutputValidationError(f"Output {path} must be a boolean, got {_type_name(value)} instead.")

    def array(self, value: Any, path: str, limit: int | None) -> list[Any] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise OutputValidationError(f"Output {path} is not an array, got {_type_name(value)} instead.")
        if limit is not None and len(value) > limit:
            raise OutputValidationError(f"The length of output variable `{path}` must be less than {limit} elements.")
        return value

    def typed(
        self, result: Mapping[str, Any], declared: Mapping[str, OutputDeclaration], prefix: str, depth: int
    ) -> dict[str, Any]:
        self.depth(depth)
        out: dict[str, Any] = {}
        for name, spec in declared.items():
            path = _join(prefix, name)
            if name not in result:
                raise OutputValidationError(f"Output {path} is missing.")
            out[name] = self.one(result[name], spec, path, depth)
        extra = [name for name in result if name not in declared]
        if extra:
            raise OutputValidationError(
                "Not all output parameters are validated: "
                + ", ".join(f"`{_join(prefix, name)}`" for name in extra)
                + " not declared."
            )
        return out

    def one(self, value: Any, spec: OutputDeclaration, path: str, depth: int) -> Any:
        kind = spec.type
        limits = self.limits
        if kind == "string":
            return self.string(value, path)
        if kind == "number":
            return self.number(value, path)
        if kind == "boolean":
            return self.boolean(value, path)
        if kind == "object":
            return self.object(value, spec, path, depth)
        if kind == "array[string]":
            items = self.array(value, path, limits.max_string_array_length)
            return None if items is None else [self.string(v, f"{path}[{i}]") for i, v in enumerate(items)]
        if kind == "array[number]":
            return self.number_array(value, path)
        if kind == "array[boolean]":
            items = self.array(value, path, None)
            return None if items is None else [self.boolean(v, f"{path}[{i}]") for i, v in enumerate(items)]
        if kind == "array[object]":
            return self.object_array(value, spec, path, depth)
        raise OutputValidationError(f"Output type {kind} is not supported.")

    def object(self, value: Any, spec: OutputDeclaration, path: str, depth: int) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise OutputValidationError(f"Output {path} is not an object, got {_type_name(value)} instead.")
        if spec.children is None:
            self.untyped(value, path, depth + 1)
            return value
        return self.typed(value, spec.children, path, depth + 1)

    def number_array(self, value: Any, path: str) -> list[int | float | None] | None:
        items = self.array(value, path, self.limits.max_number_array_length)
        if items is None:
            return None
        for i, item in enumerate(items):
            if not isinstance(item, int | float):
                raise OutputValidationError(f"The element at index {i} of output variable `{path}` must be a number.")
        return [self.number(v, f"{path}[{i}]") for i, v in enumerate(items)]

    def object_array(self, value: Any, spec: OutputDeclaration, path: str, depth: int) -> list[Any] | None:
        items = self.array(value, path, self.limits.max_object_array_length)
        if items is None:
            return None
        checked: list[Any] = []
        for i, item in enumerate(items):
            item_path = f"{path}[{i}]"
            if item is None:
                checked.append(None)
            elif not isinstance(item, dict):
                raise OutputValidationError(f"Output {item_path} is not an object, got {_type_name(item)} instead.")
            elif spec.children is None:
                self.untyped(item, item_path, depth + 1)
                checked.append(item)
            else:
                checked.append(self.typed(item, spec.children, item_path, depth + 1))
        return checked

    def untyped(self, result: Mapping[str, Any], prefix: str, depth: int) -> None:
        """Check an undeclared object by the types its values have."""
        self.depth(depth)
        for name, value in result.items():
            path = _join(prefix, name)
            if value is None:
                continue
            if isinstance(value, dict):
                self.untyped(value, path, depth + 1)
            elif isinstance(value, bool):
                continue
            elif isinstance(value, int | float):
                self.number(value, path)
            elif isinstance(value, str):
                self.string(value, path)
            elif isinstance(value, list):
                self.untyped_array(value, path, depth)
            else:
                raise OutputValidationError(f"Output {path} is not a valid type.")

    def untyped_array(self, items: list[Any], path: str, depth: int) -> None:
        present = [item for item in items if item is not None]
        if not present:
            return
        first = present[0]
        for kind in (bool, int | float, str, dict, list):
            if isinstance(first, kind):
                if not all(isinstance(item, kind) for item in present):
                    raise OutputValidationError(
                        f"Output {path} is not a valid array. make sure all elements are of the same type."
                    )
                break
        for i, item in enumerate(items):
            item_path = f"{path}[{i}]"
            if item is None or isinstance(item, bool):
                continue
            if isinstance(item, dict):
                self.untyped(item, item_path, depth + 1)
            elif isinstance(item, list):
                self.depth(depth + 1)
                self.untyped_array(item, item_path, depth + 1)
            elif isinstance(item, int | float):
                self.number(item, item_path)
            elif isinstance(item, str):
                self.string(item, item_path)
            else:
                raise OutputValidationError(f"Output {item_path} is not a valid type.")
