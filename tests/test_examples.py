"""The CI example uses only options the CLI has."""

import re
from pathlib import Path

import yaml

from probes.cli import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ci" / "probe-gate.yml"


def test_ci_example_options_exist() -> None:
    workflow = yaml.safe_load(EXAMPLE.read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    commands = [s["run"] for s in steps if "run" in s and "probe run" in s["run"]]
    assert commands, "the example runs probe"
    used = set(re.findall(r"(--[a-z][a-z-]+)", commands[0]))
    known = {opt for p in cli.commands["run"].params for opt in p.opts}
    assert used <= known, used - known
