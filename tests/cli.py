"""Running `benkadi` commands in this process (fast), as main() parses and runs them."""

from __future__ import annotations

import argparse

from gateway.cli import main, runner
from gateway.settings import Settings


def parse(*argv: str) -> argparse.Namespace:
    """The command line as `benkadi` parses it (old spellings included)."""
    return main.parser().parse_args(main.spelled_now(list(argv)))


async def run(settings: Settings, *argv: str) -> int:
    """The exit code of one command on `settings`' database; output goes to capsys."""
    return await runner.run(parse(*argv), settings)
