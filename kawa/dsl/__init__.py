"""Dify app DSL (YAML export/import): parse, validate, describe and export app documents."""

from kawa.dsl.document import AppDocument, GraphCheck, load_dsl
from kawa.dsl.export import export_dsl

__all__ = ["AppDocument", "GraphCheck", "export_dsl", "load_dsl"]
