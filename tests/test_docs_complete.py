"""Every setting and every CLI command is documented, so the docs cannot fall behind the code.

Settings: each field of :class:`expertloop.config.Settings` appears as ``EXPERTLOOP_<NAME>`` in
the README's configuration table. Commands: each command path appears as ``expertloop <path>``
in docs/cli.md, the command-line reference.
"""

from __future__ import annotations

from pathlib import Path

import typer.main

from expertloop.cli.main import app
from expertloop.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def command_paths(command, prefix: str = "") -> list[str]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [prefix]
    paths: list[str] = []
    for name, sub in sorted(subcommands.items()):
        paths += command_paths(sub, f"{prefix} {name}".strip())
    return paths


def test_every_setting_is_in_the_readme_configuration_table():
    readme = (ROOT / "README.md").read_text()
    missing = [f"EXPERTLOOP_{name.upper()}" for name in Settings.model_fields
               if f"`EXPERTLOOP_{name.upper()}`" not in readme]
    assert not missing, f"settings missing from README's configuration table: {missing}"


def test_every_cli_command_is_in_the_cli_reference():
    reference = (ROOT / "docs" / "cli.md").read_text()
    paths = command_paths(typer.main.get_command(app))
    assert len(paths) > 10  # the walk found the command tree, not just the root
    missing = [p for p in paths if f"`expertloop {p}" not in reference]
    assert not missing, f"commands missing from docs/cli.md: {missing}"
