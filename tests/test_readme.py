"""The README documents what the project ships, and CI runs exactly what the README says."""
from __future__ import annotations

import re

import yaml
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def manifest() -> list[dict[str, object]]:
    hooks: list[dict[str, object]] = yaml.safe_load(
        (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return hooks


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def shell_lines(text: str) -> list[str]:
    blocks = re.findall(r"^```(?:sh|bash|console)\n(.*?)^```", text, re.M | re.S)
    return [ln.strip() for block in blocks for ln in block.splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def test_every_hook_id_is_documented_with_its_stage() -> None:
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| ([a-z-]+) \|", README, re.M))
    for hook in manifest():
        hook_id = str(hook["id"])
        assert f"`{hook_id}`" in README, f"{hook_id} is not documented in README.md"
        assert rows.get(hook_id) in hook["stages"], (hook_id, rows.get(hook_id))  # type: ignore[operator]


def test_every_hook_keeps_the_framework_settings() -> None:
    for hook in manifest():
        assert hook["always_run"] is True and hook["require_serial"] is True
        assert hook["minimum_pre_commit_version"] == "3.2.0"
        # only a commit-msg hook takes a "filename": the message file
        assert hook["pass_filenames"] is (hook["stages"] == ["commit-msg"]), hook["id"]
        if hook["stages"] == ["prepare-commit-msg"]:
            # Nothing to decide: install's shell script, run from the hook repository.
            assert (hook["language"], hook["entry"]) == ("script", "hooks/prepare-commit-msg")
            continue
        assert hook["language"] == "python"
        assert str(hook["entry"]).startswith("avorelo-gate hook ")


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    commands = [ln for ln in shell_lines(section("Two commands")) if "pytest" in ln]
    assert len(commands) == 1, commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    run = [ln.strip() for ln in ci
           if ln.strip() and not ln.startswith("#") and not ln.startswith(("set -", "cd "))]
    assert run == commands


def test_readme_names_every_exit_code_and_core_command() -> None:
    for code in ("**0** pass", "**1**", "**2** bad input", "**3** the environment failed"):
        assert code in README
    for command in ("check", "install", "validate", "init", "demo"):
        assert f"avorelo-gate {command}" in README or f"`{command}" in README, command
