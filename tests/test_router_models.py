"""Policy ``models:`` and the router's outputs: ``route --format json`` names the model,
``route --format env`` prints export lines that a real shell sources back exactly."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GitRepo, assert_clean_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avorelo_gate.errors import BadInputError
from avorelo_gate.receipts.index import IndexState
from avorelo_gate.router.env import env_lines, render_env
from avorelo_gate.router.route import Route
from avorelo_gate.task.policy import ModelRef

MODELS = """\
models:
  light: {name: claude-haiku-4-5, alias: avorelo-light}
  standard: {alias: avorelo-standard}
  heavy: {name: claude-opus-4-1}
"""
VARS = ("AVORELO_TASK", "AVORELO_MODEL_WEIGHT", "AVORELO_MODEL", "AVORELO_GATEWAY_MODEL",
        "AVORELO_GATEWAY_TAGS", "ANTHROPIC_MODEL", "ANTHROPIC_CUSTOM_HEADERS")
SHELLS = [s for s in ("sh", "bash", "dash") if shutil.which(s)]
UNSET = "<unset>"


def policy_repo(repo: GitRepo, policy: str, task: str | None = None) -> GitRepo:
    repo.write(".avorelo/policy.yaml", "version: 1\n" + policy)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("policy")
    if task is not None:
        repo.write(".avorelo/tasks/T-1.yaml", "id: T-1\n" + task)
    return repo


def source(env_text: str, shell: str, tmp: Path,
           preset: dict[str, str] | None = None) -> dict[str, str]:
    """Source the export lines in a real shell and read every variable back (NUL-separated,
    so that any byte a value holds survives)."""
    script = tmp / "route.env"
    script.write_text(env_text, encoding="utf-8")
    reads = " ".join(f'"${{{v}-{UNSET}}}"' for v in VARS)
    proc = subprocess.run([shell, "-c", f'. "$1" && printf "%s\\0" {reads}', shell,
                           str(script)], capture_output=True, check=False, cwd=tmp,
                          env={"PATH": "/usr/bin:/bin", **(preset or {})})
    assert proc.returncode == 0, proc.stderr.decode()
    values = proc.stdout.decode("utf-8").split("\0")[:-1]
    return dict(zip(VARS, values, strict=True))


def route_of(task_id: str | None, weight: str, name: str | None,
             alias: str | None) -> Route:
    model = ModelRef(name, alias) if name or alias else None
    return Route(weight, (), task_id, (), (), (), IndexState("", None, 0, 0), model=model)


def test_route_json_names_the_model_the_policy_maps_the_weight_to(repo: GitRepo) -> None:
    policy_repo(repo, MODELS, "scope: ['src/**']\nbudget: {max_files: 2, max_lines: 20}\n"
                "risk: low\n")
    proc = repo.gate("route", "--task", "T-1", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "avorelo.route/v1"
    assert doc["recommendation"] == "light"
    assert doc["model"] == {"name": "claude-haiku-4-5", "alias": "avorelo-light"}
    text = repo.gate("route", "--task", "T-1").stdout
    assert "model: claude-haiku-4-5 / alias avorelo-light (policy models.light)" in text


def test_route_json_model_is_null_when_the_weight_is_not_mapped(repo: GitRepo) -> None:
    policy_repo(repo, "models:\n  heavy: {name: claude-opus-4-1}\n",
                "scope: ['src/**']\nbudget: {max_files: 2}\n")
    doc = json.loads(repo.gate("route", "--task", "T-1", "--format", "json").stdout)
    assert (doc["recommendation"], doc["model"]) == ("light", None)


@pytest.mark.parametrize(("models", "needle"), [
    ("models:\n  superheavy: {name: x}\n", "models.superheavy: unknown key"),
    ("models:\n  light: {name: x, provider: y}\n", "models.light.provider: unknown key"),
    ("models:\n  light: {alias: 'a b'}\n", "models.light.alias: 'a b' is not a model id"),
    ("models:\n  light: {alias: 'x;rm -rf /'}\n", "models.light.alias"),
    ("models:\n  light: {name: '$(id)'}\n", "models.light.name"),
    ("models:\n  light: {alias: \"a\\nX-Evil: 1\"}\n", "models.light.alias"),
    ("models:\n  light: {alias: 'a,b'}\n", "models.light.alias"),
    ("models:\n  light: {name: 7}\n", "models.light.name: expected a string"),
    ("models: [light]\n", "models: expected a mapping"),
])
def test_bad_models_are_bad_input_naming_the_key(repo: GitRepo, models: str,
                                                 needle: str) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\n" + models)
    assert_clean_error(repo.gate("validate", ".avorelo/policy.yaml"), 2, needle)
    repo.add()
    repo.commit("policy")
    repo.write(".avorelo/tasks/T-1.yaml", "id: T-1\nscope: ['src/**']\n")
    assert_clean_error(repo.gate("route", "--task", "T-1", "--format", "env"), 2, needle)


@pytest.mark.skipif(not SHELLS, reason="no POSIX shell on PATH")
@pytest.mark.parametrize("agent", ["claude", "codex", "generic"])
def test_route_env_sources_in_a_real_shell(repo: GitRepo, tmp_path: Path, agent: str) -> None:
    policy_repo(repo, MODELS, "scope: ['src/**']\nbudget: {max_files: 2}\nrisk: low\n")
    proc = repo.gate("route", "--task", "T-1", "--format", "env", "--agent", agent)
    assert proc.returncode == 0, proc.stderr
    for shell in SHELLS:
        # A stale model claim from an earlier eval must not survive this one.
        got = source(proc.stdout, shell, tmp_path, {"AVORELO_MODEL": "stale"})
        assert got["AVORELO_TASK"] == "T-1"
        assert got["AVORELO_MODEL_WEIGHT"] == "light"
        assert got["AVORELO_MODEL"] == "claude-haiku-4-5"
        assert got["AVORELO_GATEWAY_MODEL"] == "avorelo-light"
        tags = "avorelo-task:T-1,avorelo-weight:light,avorelo-alias:avorelo-light"
        assert got["AVORELO_GATEWAY_TAGS"] == tags
        if agent == "claude":
            assert got["ANTHROPIC_MODEL"] == "avorelo-light"
            assert got["ANTHROPIC_CUSTOM_HEADERS"] == f"x-litellm-tags: {tags}"
        else:
            assert got["ANTHROPIC_MODEL"] == got["ANTHROPIC_CUSTOM_HEADERS"] == UNSET


@pytest.mark.skipif(not SHELLS, reason="no POSIX shell on PATH")
def test_route_env_unsets_the_model_when_none_is_mapped(repo: GitRepo, tmp_path: Path) -> None:
    policy_repo(repo, "", "scope: ['src/**']\nbudget: {max_files: 2}\n")
    proc = repo.gate("route", "--task", "T-1", "--format", "env")
    got = source(proc.stdout, SHELLS[0], tmp_path, {"AVORELO_MODEL": "stale",
                                                    "AVORELO_GATEWAY_MODEL": "stale"})
    assert (got["AVORELO_MODEL"], got["AVORELO_GATEWAY_MODEL"]) == (UNSET, UNSET)
    assert got["AVORELO_MODEL_WEIGHT"] == "light"


_hostile = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                          blacklist_characters="\0"), max_size=40)
_shellish = st.sampled_from(["'", '"', "$(touch pwned)", "`touch pwned`", "\\", ";", "\n",
                             "$HOME", "!", "*", " ", "'\"'\"'", "\r", ",", "#"])
_value = st.one_of(_hostile, st.lists(_shellish, max_size=6).map("".join),
                   st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,20}", fullmatch=True))


@pytest.mark.skipif(not SHELLS, reason="no POSIX shell on PATH")
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task_id=_value, name=_value, alias=_value,
       weight=st.sampled_from(["light", "standard", "heavy"]),
       agent=st.sampled_from(["claude", "codex", "generic"]))
def test_env_output_is_always_safe_to_eval(tmp_path: Path, task_id: str, name: str,
                                           alias: str, weight: str, agent: str) -> None:
    """Whatever the values (validation aside), sourcing the output runs nothing and sets each
    variable to exactly its value; a value that cannot travel in a header is refused."""
    r = route_of(task_id or None, weight, name or None, alias or None)
    try:
        text = render_env(r, agent)
    except BadInputError as e:
        assert any(c in (task_id + alias) for c in "\r\n,\0"), e
        return
    got = source(text, SHELLS[-1], tmp_path)
    assert not (tmp_path / "pwned").exists()
    assert got["AVORELO_TASK"] == (task_id or UNSET)
    assert got["AVORELO_MODEL_WEIGHT"] == weight
    assert got["AVORELO_MODEL"] == (name or alias or UNSET)
    assert got["AVORELO_GATEWAY_MODEL"] == (alias or name or UNSET)
    if agent == "claude":
        assert got["ANTHROPIC_CUSTOM_HEADERS"].startswith("x-litellm-tags: ")
        assert "\n" not in got["ANTHROPIC_CUSTOM_HEADERS"]


@pytest.mark.skipif(not SHELLS, reason="no POSIX shell on PATH")
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alias=_value)
def test_policy_alias_is_refused_or_sourced_back_exactly(make_repo: Any, tmp_path: Path,
                                                         alias: str) -> None:
    """End to end: any alias in the policy either fails validation (exit 2, naming the key)
    or comes back from `route --format env` through a real shell unchanged."""
    repo = make_repo()
    body = yaml.safe_dump({"models": {"light": {"alias": alias}}})
    policy_repo(repo, body, "scope: ['src/**']\nbudget: {max_files: 2}\n")
    proc = repo.gate("route", "--task", "T-1", "--format", "env", "--agent", "claude")
    if proc.returncode == 2:
        assert_clean_error(proc, 2, "models.light.alias")
        return
    assert proc.returncode == 0, proc.stderr
    got = source(proc.stdout, SHELLS[-1], tmp_path)
    assert got["ANTHROPIC_MODEL"] == alias
    assert not (tmp_path / "pwned").exists()


def test_env_lines_refuse_an_unknown_agent() -> None:
    with pytest.raises(BadInputError, match="--agent 'cursor'"):
        env_lines(route_of("T-1", "light", None, None), "cursor")
