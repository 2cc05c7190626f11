"""Radio metadata recorded in the speakers' own shapes (tests/fixtures/radio.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "radio.toml"


@dataclass(frozen=True)
class RadioCase:
    """One provider format: what the speaker reports, and what a display must show."""

    name: str
    uri: str
    channel: str
    metadata: str
    expect: dict[str, str]


def radio_cases() -> list[RadioCase]:
    """Every case of the fixture file, in its order."""
    with FIXTURES.open("rb") as file:
        return [RadioCase(**case) for case in tomllib.load(file)["case"]]
