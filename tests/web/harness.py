"""What the browser tests share: the `kawa serve` process they drive, the console login and the DSL import."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

DSL = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"
# The fake model's answer: Markdown with a fenced code block, streamed one small chunk at a time.
ANSWER = "Here is **bold** advice.\n\n```python\ndef hello():\n    return 42\n```\n\nDone."


@dataclass
class KawaServer:
    base_url: str
    home: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]

    def kawa(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kawa.cli", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )


def log_in(page: Page, server: KawaServer, next_path: str = "/console") -> None:
    page.goto(server.base_url + next_path)
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base_url + next_path)


def import_in_console(page: Page, fixture: str) -> str:
    """Import a DSL fixture through the console's upload; returns the new app's id."""
    page.locator("#dsl-file").set_input_files(str(DSL / fixture))
    link = page.get_by_role("link", name="Open the app →")
    link.wait_for()
    href = str(link.get_attribute("href"))
    return href.rsplit("/", 1)[-1]
