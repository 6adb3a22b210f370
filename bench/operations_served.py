"""How many of today's Dify Service API operations kawa serves (the list: tests/api/dify_operations.py).

    python bench/operations_served.py

Prints `served X/82` and the operations kawa does not serve.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "api"))

from dify_operations import DIFY_OPERATIONS, missing_operations

from kawa.api.app import create_app
from kawa.settings import Settings


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        missing = missing_operations(create_app(Settings(home=Path(home))))
    print(f"served {len(DIFY_OPERATIONS) - len(missing)}/{len(DIFY_OPERATIONS)}")
    for method, path in missing:
        print(f"  missing {method} {path}")


if __name__ == "__main__":
    main()
