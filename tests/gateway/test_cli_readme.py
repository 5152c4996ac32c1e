"""Every `benkadi` command the README shows as an example parses as written (synopses with
[optional] parts, A|B choices or … are usage notation, not examples, and are left out)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests import cli

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

README = Path(__file__).resolve().parents[2] / "README.md"
SYNOPSIS = re.compile(r"\[|\||…")


REDIRECTIONS = (">", ">>", "<", "2>", "|")


def examples() -> list[list[str]]:
    """Each `benkadi …` of the README's sh blocks, as its words after `benkadi`."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text("utf-8"), re.S)
    commands: list[list[str]] = [[]]
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            for word in [*shlex.split(line, comments=True), ";"]:
                if word == ";":
                    commands.append([])
                elif not (commands[-1] and commands[-1][-1] in REDIRECTIONS):
                    commands[-1].append(word)
    return [
        [word for word in command if word not in REDIRECTIONS][1:]
        for command in commands
        if command and command[0] in ("benkadi", ".venv/bin/benkadi")
    ]


def test_the_readme_shows_the_nouns():
    shown = {command[0] for command in examples()}
    assert {"tokens", "broadcasts", "members", "organisations", "campaigns", "accounts"} <= shown


@pytest.mark.parametrize(
    "command", [c for c in examples() if not SYNOPSIS.search(" ".join(c))], ids=" ".join
)
def test_a_readme_example_parses(command):
    cli.parse(*command)  # argparse exits (SystemExit) on anything it refuses
