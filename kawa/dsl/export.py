"""Write a stored app document back out as Dify DSL YAML that re-imports to the same behaviour."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from kawa.dsl.versions import WRITTEN_VERSION


def export_dsl(document: dict[str, Any], *, include_secret: bool = False) -> str:
    """YAML for `document`. Secret environment variables are blanked unless `include_secret`, as Dify does."""
    doc = copy.deepcopy(document)
    doc["version"] = WRITTEN_VERSION
    doc["kind"] = "app"
    if not include_secret:
        for variable in (doc.get("workflow") or {}).get("environment_variables") or []:
            if isinstance(variable, dict) and variable.get("value_type") == "secret":
                variable["value"] = ""
    ordered: dict[str, Any] = {key: doc[key] for key in ("version", "kind", "app") if key in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    text: str = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False)
    return text
