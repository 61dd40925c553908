"""Model weight: where it is declared, how its policy budget judges a change (issue 4, item 4)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, assert_clean_error

POLICY = """\
version: 1
weights:
  light: {max_files: 2, max_lines: 20}
  standard: {max_files: 10}
"""
TASK = 'id: W-1\nscope: ["src/**"]\nmodel: {weight: light, name: small-1}\n'


@pytest.fixture
def wrepo(repo: GitRepo) -> GitRepo:
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/tasks/W-1.yaml", TASK)
    repo.write("src/base.py", "base\n")
    repo.add()
    repo.commit("init")
    return repo


def check(repo: GitRepo, message: str = "work\n\nTask: W-1\n",
          env: dict[str, str] | None = None, code: int | None = None) -> dict[str, Any]:
    msg = repo.path.parent / "MSG"
    msg.write_text(message)
    proc = repo.gate("check", "--message-file", str(msg), "--format", "json", env=env)
    if code is not None:
        assert proc.returncode == code, (proc.stdout, proc.stderr)
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def stage(repo: GitRepo, files: int, lines: int = 1) -> None:
    for i in range(files):
        repo.write(f"src/f{i}.py", "x\n" * lines)
    repo.add()


def rules(doc: dict[str, Any]) -> list[str]:
    return [v["rule"] for v in doc["violations"]]


def test_weight_from_the_task_file_is_a_claim_with_its_source(wrepo: GitRepo) -> None:
    stage(wrepo, 1)
    doc = check(wrepo, code=0)
    assert doc["model"] == {"weight": "light", "name": "small-1", "claimed": True,
                            "source": {"weight": "task-file", "name": "task-file"}}


def test_environment_overrides_the_task_file(wrepo: GitRepo) -> None:
    stage(wrepo, 1)
    doc = check(wrepo, env={"AVORELO_MODEL_WEIGHT": "Standard", "AVORELO_MODEL": "agent-7"})
    assert doc["model"]["weight"] == "standard" and doc["model"]["name"] == "agent-7"
    assert doc["model"]["source"] == {"weight": "env:AVORELO_MODEL_WEIGHT",
                                      "name": "env:AVORELO_MODEL"}


def test_trailers_override_the_environment(wrepo: GitRepo) -> None:
    stage(wrepo, 1)
    doc = check(wrepo, "work\n\nTask: W-1\nModel-Weight: heavy\nModel: big-2\n",
                env={"AVORELO_MODEL_WEIGHT": "standard", "AVORELO_MODEL": "agent-7"})
    assert (doc["model"]["weight"], doc["model"]["name"]) == ("heavy", "big-2")
    assert doc["model"]["source"] == {"weight": "trailer:Model-Weight", "name": "trailer:Model"}


def test_assisted_by_names_the_model_when_no_model_trailer(wrepo: GitRepo) -> None:
    stage(wrepo, 1)
    doc = check(wrepo, "work\n\nTask: W-1\nAssisted-by: Claude:claude-sonnet-4 [pytest]\n")
    assert doc["model"]["name"] == "claude-sonnet-4"
    assert doc["model"]["source"]["name"] == "trailer:Assisted-by"


def test_no_weight_declared_means_no_model_claim(repo: GitRepo) -> None:
    repo.write("a.py")
    repo.add()
    doc = check(repo, "plain\n", code=0)
    assert doc["model"] is None


@pytest.mark.parametrize(("files", "lines", "expected"), [
    (2, 10, []),                          # inside the light budget: 2 files, 20 lines
    (3, 1, ["weight-budget"]),            # one file too many
    (1, 21, ["weight-budget"]),           # one line too many
])
def test_light_weight_budget(wrepo: GitRepo, files: int, lines: int,
                             expected: list[str]) -> None:
    stage(wrepo, files, lines)
    doc = check(wrepo, code=1 if expected else 0)
    assert rules(doc) == expected
    if expected:
        message = doc["violations"][0]["message"]
        assert message.startswith("a light model may not land this change")
        assert "(declared by task-file)" in message


def test_heavier_declared_weight_lifts_the_budget(wrepo: GitRepo) -> None:
    stage(wrepo, 3, 30)
    assert rules(check(wrepo, "w\n\nTask: W-1\nModel-Weight: standard\n", code=0)) == []
    stage(wrepo, 11)
    doc = check(wrepo, "w\n\nTask: W-1\nModel-Weight: standard\n", code=1)
    assert rules(doc) == ["weight-budget"]
    assert "11 files > 10" in doc["violations"][0]["message"]
    assert rules(check(wrepo, "w\n\nTask: W-1\nModel-Weight: heavy\n", code=0)) == []


def test_heavy_weight_on_a_light_sized_change_warns(wrepo: GitRepo) -> None:
    stage(wrepo, 1)
    doc = check(wrepo, "w\n\nTask: W-1\nModel-Weight: heavy\n", code=0)
    assert any("heavy model was declared for a change that fits the light budget" in w
               for w in doc["warnings"])
    stage(wrepo, 5)
    big = check(wrepo, "w\n\nTask: W-1\nModel-Weight: heavy\n", code=0)
    assert not any("heavy model" in w for w in big["warnings"])


def test_default_weights_apply_without_a_policy(repo: GitRepo) -> None:
    repo.write(".avorelo/task.yaml", 'id: D-1\nmodel: {weight: light}\n')
    repo.write("seed.txt")
    repo.add()
    repo.commit("init")
    for i in range(6):  # the default light budget is 5 files
        repo.write(f"f{i}.txt")
    repo.add()
    assert rules(check(repo, "w\n", code=1)) == ["weight-budget"]


@pytest.mark.parametrize(("env", "message", "needle"), [
    ({"AVORELO_MODEL_WEIGHT": "huge"}, "w\n\nTask: W-1\n", "AVORELO_MODEL_WEIGHT: 'huge'"),
    ({}, "w\n\nTask: W-1\nModel-Weight: medium\n", "Model-Weight 'medium'"),
    ({}, "w\n\nTask: W-1\nModel-Weight: light\nModel-Weight: heavy\n", "Model-Weight"),
])
def test_unknown_or_conflicting_weights_are_bad_input(wrepo: GitRepo, env: dict[str, str],
                                                     message: str, needle: str) -> None:
    stage(wrepo, 1)
    msg = wrepo.path.parent / "MSG"
    msg.write_text(message)
    assert_clean_error(wrepo.gate("check", "--message-file", str(msg), env=env), 2, needle)


def test_unknown_weight_in_a_task_file_names_file_and_key(wrepo: GitRepo) -> None:
    wrepo.write(".avorelo/tasks/W-1.yaml", TASK.replace("light", "tiny"))
    stage(wrepo, 1)
    msg = Path(wrepo.path.parent / "MSG")
    msg.write_text("w\n\nTask: W-1\n")
    assert_clean_error(wrepo.gate("check", "--message-file", str(msg)), 2,
                       ".avorelo/tasks/W-1.yaml", "model.weight", "'tiny'")


def test_unknown_weight_in_the_policy_is_bad_input(repo: GitRepo) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\nweights:\n  tiny: {max_files: 1}\n")
    repo.write("a.txt")
    repo.add()
    repo.commit("init")
    repo.write("b.txt")
    repo.add()
    assert_clean_error(repo.gate("check"), 2, ".avorelo/policy.yaml", "weights.tiny")
