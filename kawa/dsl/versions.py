"""DSL versions: which Dify export versions kawa reads, and the one it writes."""

from __future__ import annotations

OLDEST_SUPPORTED = (0, 1, 0)
NEWEST_SUPPORTED = (0, 6, 0)
WRITTEN_VERSION = "0.6.0"


def parse_version(text: str) -> tuple[int, int, int] | None:
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    nums = [int(p) for p in parts] + [0] * (3 - len(parts))
    return nums[0], nums[1], nums[2]


def version_warning(version: tuple[int, int, int]) -> str | None:
    """A warning for versions older than the newest (imported as Dify does, with warnings), else None."""
    if version[:2] < NEWEST_SUPPORTED[:2]:
        return (
            f"DSL version {'.'.join(map(str, version))} is older than {WRITTEN_VERSION}; "
            "it was imported and will be exported in the current format."
        )
    return None
