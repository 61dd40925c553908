"""The click commands: the only module that imports click. Each command hands plain values to
an undecorated core function and prints what it returns."""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

import click

from avorelo_gate import __version__, commands
from avorelo_gate.errors import BadInputError, ExitCode
from avorelo_gate.report.output import FORMATS

_FORMAT = click.Choice(FORMATS)


def run_cli(args: list[str], environ: Mapping[str, str]) -> int:
    cli = build_cli(environ)
    try:
        rv = cli.main(args=args, prog_name="avorelo-gate", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e))
        return int(ExitCode.BAD_INPUT)
    except click.UsageError as e:
        raise BadInputError(f"{e.format_message()} (see avorelo-gate --help)") from e
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.Abort as e:
        raise KeyboardInterrupt from e
    except click.ClickException as e:
        raise BadInputError(e.format_message()) from e
    return rv if isinstance(rv, int) else 0


def build_cli(environ: Mapping[str, str]) -> click.Group:
    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="avorelo-gate")
    # main.py takes --debug (anywhere before `--`) before click runs; declared here so that
    # --help lists it.
    @click.option("--debug", is_flag=True, expose_value=False,
                  help="Print the trace of an unexpected failure (any command; also "
                  "AVORELO_DEBUG=1).")
    def cli() -> None:
        """Keep coding work inside the task it was given: scope, proof and model weight,
        checked at commit, push and merge time. Exit codes: 0 pass, 1 violations,
        2 bad input, 3 environment failure. Add --debug to any command for a trace."""

    @cli.command()
    @click.option("--staged", "mode", flag_value="staged", default=True,
                  help="The index against HEAD (default).")
    @click.option("--worktree", "mode", flag_value="worktree",
                  help="The working tree (with untracked files) against HEAD.")
    @click.option("--range", "spec", metavar="A..B", help="The tree diff of A..B (or A...B).")
    @click.option("--commit", "rev", metavar="REV", help="One commit against its first parent.")
    @click.option("--task", "task_id", metavar="ID", help="The task to check against.")
    @click.option("--task-file", type=click.Path(dir_okay=False), help="A task file on disk.")
    @click.option("--message-file", type=click.Path(dir_okay=False),
                  help="Read trailers from this commit message.")
    @click.option("--allow-policy-change", is_flag=True,
                  help="A maintainer's explicit permission to change .avorelo/policy.yaml.")
    @click.option("--format", "fmt", type=_FORMAT, help="Output format (default text; github "
                  "under GITHUB_ACTIONS=true).")
    @click.option("--output", type=click.Path(dir_okay=False),
                  help="Write the formatted result here (text still goes to stdout).")
    def check(mode: str, spec: str | None, rev: str | None, task_id: str | None,
              task_file: str | None, message_file: str | None, allow_policy_change: bool,
              fmt: str | None, output: str | None) -> int:
        """Run the gate on one change."""
        return commands.check(environ, mode=mode, spec=spec, rev=rev, task_id=task_id,
                              task_file=task_file, message_file=message_file,
                              allow_policy_change=allow_policy_change, fmt=fmt, output=output)

    @cli.command(context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def hook(args: tuple[str, ...]) -> int:
        """What the git hooks call: pre-commit, prepare-commit-msg, commit-msg, post-commit,
        post-rewrite, pre-push (`avorelo-gate hook NAME --help` for one)."""
        from avorelo_gate.points.dispatch import run_hook

        return run_hook(list(args), environ)

    @cli.command("agent-hook", context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def agent_hook(args: tuple[str, ...]) -> int:
        """What a coding agent's hooks call: AGENT (claude|codex|gemini|copilot|cline) EVENT
        (pre-tool|stop|session-start), the agent's JSON on stdin (see README)."""
        from avorelo_gate.agents.hook import run_agent_hook

        return run_agent_hook(list(args), environ)

    @cli.command(short_help="Write a starting policy and task (never overwrites).")
    @click.option("--pre-commit", "pre_commit", is_flag=True, help="Also write a "
                  ".pre-commit-config.yaml whose hooks run the avorelo-gate on PATH.")
    def init(pre_commit: bool) -> int:
        """Write a starting .avorelo/policy.yaml and .avorelo/tasks/TASK-1.yaml (and, with
        --pre-commit, .pre-commit-config.yaml); never overwrites. Prints what to run next."""
        from avorelo_gate.adopt.init import init_repo, next_steps
        from avorelo_gate.git.repo import open_repo

        repo = open_repo(environ=environ)
        for rel, what in init_repo(repo, pre_commit):
            click.echo(f"{rel}: {what}")
        for line in next_steps(repo, hooks_installed=False):
            click.echo(line)
        click.echo("coding agents: avorelo-gate install --agent claude   (or codex, gemini, "
                   "copilot, cline) denies out-of-scope writes before they happen")
        return 0

    @cli.command(short_help="Install the plain git hooks, or a coding agent's hook config.")
    @click.option("--hook", "hooks", multiple=True, metavar="NAME", help="Only this hook "
                  "(repeatable).")
    @click.option("--force", is_flag=True, help="Replace a foreign hook (a backup is kept).")
    @click.option("--agent", "agents", multiple=True, metavar="AGENT",
                  type=click.Choice(("claude", "codex", "gemini", "copilot", "cline")),
                  help="Write this coding agent's project hook config instead (repeatable).")
    @click.option("--uninstall", is_flag=True, help="With --agent: remove only what "
                  "--agent added.")
    def install(hooks: tuple[str, ...], force: bool, agents: tuple[str, ...],
                uninstall: bool) -> int:
        """Install the plain git hooks (respects core.hooksPath), or with --agent a coding
        agent's hooks."""
        from avorelo_gate.adopt.init import next_steps
        from avorelo_gate.adopt.install import install_hooks
        from avorelo_gate.git.repo import open_repo

        repo = open_repo(environ=environ)
        if agents or uninstall:
            from avorelo_gate.agents.config import configure

            if not agents:
                raise BadInputError("--uninstall needs --agent AGENT (the git hooks are "
                                    "removed with rm)")
            if not repo.toplevel:
                raise BadInputError("install --agent needs a working tree")
            for agent in dict.fromkeys(agents):
                for made in configure(repo.toplevel, agent, uninstall):
                    click.echo(f"{made.agent}: {made.path} {made.action}")
            return 0
        for done in install_hooks(repo, hooks, force):
            extra = f" (previous hook kept at {done.backup})" if done.backup else ""
            click.echo(f"{done.hook}: {done.action} at {done.path}{extra}")
        if not hooks or "post-rewrite" in hooks:
            from avorelo_gate.receipts.store import SHARE_HINT, configure_notes

            click.echo("receipts follow amend and rebase: " + ", ".join(configure_notes(repo)))
            click.echo(SHARE_HINT)
        for line in next_steps(repo, hooks_installed=True):
            click.echo(line)
        return 0

    @cli.command()
    @click.argument("files", nargs=-1, type=click.Path())
    def validate(files: tuple[str, ...]) -> int:
        """Validate policy and task files (default: those under .avorelo/)."""
        from avorelo_gate.task.validate import default_files, validate_files

        paths = list(files)
        if not paths:
            from avorelo_gate.git.repo import open_repo

            repo = open_repo(environ=environ)
            paths = default_files(repo.toplevel or os.getcwd())
            if not paths:
                click.echo("no policy or task files found under .avorelo/ (nothing to "
                           "validate; defaults apply)")
                return 0
        failed = 0
        for path, kind, error in validate_files(paths):
            if error:
                failed += 1
                click.echo(f"avorelo-gate: error: {error}", err=True)
            else:
                click.echo(f"{path}: ok ({kind})")
        return int(ExitCode.BAD_INPUT) if failed else 0

    @cli.command()
    @click.option("--task", "task_id", metavar="ID", help="The task (else AVORELO_TASK or "
                  ".avorelo/task.yaml).")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
    def context(task_id: str | None, fmt: str) -> int:
        """Print the task's assembled context (paths, sizes, blob ids) at HEAD, for an
        orchestrator to hand to an agent."""
        import json

        from avorelo_gate.git.repo import open_repo
        from avorelo_gate.git.snapshot import WORKTREE, Snapshot
        from avorelo_gate.task.context import assemble, render_context_text
        from avorelo_gate.task.declare import resolve_task

        repo = open_repo(environ=environ)
        task = resolve_task(Snapshot(repo, WORKTREE), explicit_id=task_id, environ=environ)
        if not task.declared:
            raise BadInputError("no task declared: pass --task ID, set AVORELO_TASK, or "
                                "create .avorelo/task.yaml")
        ctx = assemble(repo, repo.head, task.context)
        if fmt == "json":
            click.echo(json.dumps({"task": task.id, **ctx.to_dict(),
                                   "violations": [v.to_dict() for v in ctx.violations]},
                                  indent=2))
        else:
            click.echo(f"task {task.id}", nl=True)
            click.echo(render_context_text(ctx), nl=False)
        return 1 if ctx.violations else 0

    @cli.command()
    @click.option("--keep", is_flag=True, help="Keep the throwaway repository.")
    @click.option("--agent", "agent", is_flag=True, help="A simulated coding-agent session "
                  "through the hooks `install --agent claude` writes.")
    def demo(keep: bool, agent: bool) -> int:
        """Show the whole flow on a throwaway repository."""
        from avorelo_gate.adopt.demo import run_demo

        if agent:
            from avorelo_gate.adopt.demo_agents import AGENT_STEPS

            return run_demo(keep=keep, environ=environ, out=sys.stdout, steps=AGENT_STEPS)
        return run_demo(keep=keep, environ=environ, out=sys.stdout)

    # Everything after the command's name is the command's own: its options are not ours.
    @cli.command(context_settings={"ignore_unknown_options": True,
                                   "allow_interspersed_args": False})
    @click.option("--name", metavar="NAME", help="The record's name (default: the "
                  "command's basename); a task's `command: NAME` requirement asks for it.")
    @click.option("--task", "task_id", metavar="ID", help="The task whose tools: list the "
                  "command must be on (else AVORELO_TASK or .avorelo/task.yaml).")
    @click.argument("command", nargs=-1, type=click.UNPROCESSED)
    def prove(name: str | None, task_id: str | None, command: tuple[str, ...]) -> int:
        """Run CMD (no shell), show and keep its output, and record its exit code, duration,
        artifacts' sha256 and the content it ran against. Exits with CMD's code.

        Usage: avorelo-gate prove [--name NAME] -- CMD [ARGS...]"""
        from avorelo_gate.git.repo import open_repo
        from avorelo_gate.git.snapshot import WORKTREE, Snapshot
        from avorelo_gate.proof.run import run_prove
        from avorelo_gate.task.approvals import refuse_unlisted_tool
        from avorelo_gate.task.declare import resolve_task

        repo = open_repo(environ=environ)
        if command and repo.toplevel:
            task = resolve_task(Snapshot(repo, WORKTREE), explicit_id=task_id, environ=environ)
            refuse_unlisted_tool(task, command)
        code = run_prove(repo, name, list(command), environ)
        if code == 0 and repo.toplevel:
            from avorelo_gate.receipts.commands import after_prove

            click.echo(after_prove(repo), err=True, nl=False)
        return code

    @cli.command()
    @click.option("--base", required=True, metavar="REF",
                  help="The target branch (or its sha); the policy is read at the merge base.")
    @click.option("--head", default="HEAD", show_default=True, metavar="REF",
                  help="The pull request's tip.")
    @click.option("--allow-policy-change", is_flag=True,
                  help="A maintainer's explicit permission to change .avorelo/policy.yaml "
                  "(or AVORELO_ALLOW_POLICY_CHANGE=1).")
    @click.option("--format", "fmt", type=_FORMAT, help="Output format (default text; github "
                  "under GITHUB_ACTIONS=true).")
    @click.option("--output", type=click.Path(dir_okay=False),
                  help="Write the formatted result here (text still goes to stdout).")
    def ci(base: str, head: str, allow_policy_change: bool, fmt: str | None,
           output: str | None) -> int:
        """Pull-request mode: every commit in merge-base(BASE, HEAD)..HEAD and the range as a
        whole, under the policy of the base."""
        return commands.ci(environ, base=base, head=head,
                           allow_policy_change=allow_policy_change, fmt=fmt, output=output)

    @cli.group()
    def receipt() -> None:
        """Read, verify and (re)record the receipts on refs/notes/avorelo."""

    @receipt.command("show")
    @click.argument("rev", required=False)
    @click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
                  show_default=True, help="json: the receipt exactly as stored.")
    def receipt_show(rev: str | None, fmt: str) -> int:
        """Show the receipt of REV (default HEAD)."""
        from avorelo_gate.git.repo import open_repo
        from avorelo_gate.receipts.commands import show

        return show(open_repo(environ=environ), rev, fmt, environ).emit()

    @receipt.command("list")
    @click.argument("spec", metavar="[RANGE]", required=False)
    @click.option("-n", "--max-count", "count", type=click.IntRange(min=1), default=None,
                  help="At most this many commits (default 20 unless RANGE is A..B).")
    def receipt_list(spec: str | None, count: int | None) -> int:
        """One line per commit: sha, task, verdict, weight, model (default: the last 20
        commits of HEAD)."""
        from avorelo_gate.git.repo import open_repo
        from avorelo_gate.receipts.commands import list_receipts

        return list_receipts(open_repo(environ=environ), spec, count).emit()

    @receipt.command("verify")
    @click.argument("spec", metavar="[RANGE]", required=False)
    @click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
                  show_default=True)
    def receipt_verify(spec: str | None, fmt: str) -> int:
        """Recompute each receipt from its commit (RANGE A..B, or one REV; default HEAD);
        exit 1 on receipt-missing or receipt-invalid."""
        return commands.receipt_verify(environ, spec=spec, fmt=fmt)

    @receipt.command("record")
    @click.argument("rev", required=False)
    def receipt_record(rev: str | None) -> int:
        """Record (or repair) the receipt of REV (default HEAD) from the commit itself."""
        from avorelo_gate.git.repo import open_repo
        from avorelo_gate.receipts.commands import record_receipt

        return record_receipt(open_repo(environ=environ), rev, environ).emit()

    @cli.command()
    @click.option("--task", "task_id", metavar="ID", help="The task (.avorelo/tasks/ID.yaml).")
    @click.option("--scope", "scopes", multiple=True, metavar="PATTERN",
                  help="Route for these paths (repeatable; replaces the task's scope).")
    @click.option("--format", "fmt", type=click.Choice(("text", "json", "env")),
                  default="text", show_default=True,
                  help="env: shell-quoted export lines to eval before starting an agent.")
    @click.option("--agent", type=click.Choice(("claude", "codex", "generic")),
                  default="generic", show_default=True,
                  help="With --format env: also the variables this agent reads.")
    def route(task_id: str | None, scopes: tuple[str, ...], fmt: str, agent: str) -> int:
        """Recommend a model weight for a task (default: the active task), from its scope,
        budget and risk and from the receipts of earlier work on the same paths."""
        return commands.route(environ, task_id=task_id, scopes=scopes, fmt=fmt, agent=agent)

    @cli.group()
    def task() -> None:
        """The clone's active task: start one, show its whole path, stop it."""

    _task_format = click.option("--format", "fmt", type=click.Choice(("text", "json")),
                                default="text", show_default=True)

    @task.command("start")
    @click.argument("task_id", metavar="ID")
    @_task_format
    def task_start(task_id: str, fmt: str) -> int:
        """Make .avorelo/tasks/ID.yaml the active task and print its whole path: context,
        scope, tools, approvals, proof, and last the routed model weight."""
        return commands.task(environ, action="start", task_id=task_id, fmt=fmt)

    @task.command("show")
    @click.argument("task_id", metavar="[ID]", required=False)
    @_task_format
    def task_show(task_id: str | None, fmt: str) -> int:
        """Print the active task's whole path (or task ID's, without starting it)."""
        return commands.task(environ, action="show", task_id=task_id, fmt=fmt)

    @task.command("check-paths")
    @click.argument("paths", nargs=-1, required=True, metavar="PATH...")
    @click.option("--task", "task_id", metavar="ID", help="The task (default: AVORELO_TASK, "
                  "the active task, .avorelo/task.yaml).")
    def task_check_paths(paths: tuple[str, ...], task_id: str | None) -> int:
        """Would writing these paths (relative to the repository root, or absolute) be
        allowed? JSON; exit 1 when any is not."""
        return commands.check_paths(environ, task_id=task_id, paths=paths)

    @cli.command()
    @click.option("--repo", "repo_dir", type=click.Path(file_okay=False), default=None,
                  help="The repository the tools act on (default: the current directory).")
    def mcp(repo_dir: str | None) -> int:
        """Serve the gate as MCP tools on stdio (pip install 'avorelo-gate[mcp]')."""
        from avorelo_gate.mcp_server.server import serve

        return serve(repo_dir or os.getcwd(), environ)

    @task.command("stop")
    def task_stop() -> int:
        """Forget the active task."""
        return commands.task(environ, action="stop", task_id=None, fmt="text")

    _whole_short_help(cli)
    return cli


def _whole_short_help(group: click.Group) -> None:
    """Command lists show each command's whole first sentence (click cuts its default at 45
    characters, mid-word): the formatter wraps it instead."""
    for command in group.commands.values():
        if command.short_help is None and command.help:
            text = " ".join(command.help.split("\n\n")[0].split())
            command.short_help = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
        if isinstance(command, click.Group):
            _whole_short_help(command)
