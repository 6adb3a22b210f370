"""The README stays true: two set-up commands at the top, and a settings table that matches the code."""

from __future__ import annotations

import re
from pathlib import Path

from kawa.settings import settings_markdown

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_has_exactly_the_two_setup_commands() -> None:
    assert README.count("<!-- start-command -->") == 1
    assert README.count("<!-- test-command -->") == 1
    start = README.index("<!-- start-command -->")
    test = README.index("<!-- test-command -->")
    assert start < test < README.index("## ")
    assert "kawa serve --example" in README[start:test]
    assert "pytest" in README[test : README.index("## ")]


def test_settings_table_matches_the_settings_object() -> None:
    table = re.search(r"<!-- settings-table -->\n(.*?)<!-- /settings-table -->", README, re.S)
    assert table is not None
    assert table.group(1) == settings_markdown(), "run `kawa settings` and paste its output into the README"
