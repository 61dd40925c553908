"""Hook scripts that need no Python: what ``install`` writes for a hook with nothing to decide.

prepare-commit-msg only notes, for commit-msg, whether git hinted at ``--amend`` and forgets
the pending receipts of abandoned commits. Starting Python for that costs a whole interpreter
start on every commit (issue 14: ~74 ms measured); two ``git rev-parse`` and a ``printf`` do
the same. ``avorelo-gate hook prepare-commit-msg`` (the pre-commit framework's entry) does the
same in Python, and ``tests/test_fast_path.py`` holds the two to the same marker and effect.

The marker is ``points/commit_hooks.py``'s ``MARKER`` in the local state directory
(``$GIT_DIR/avorelo``), JSON ``{"amend": BOOL, "head": SHA|null}``; the pending receipts are
``receipts/pending.py``'s ``pending/`` beside it. The temporary file carries
``files/atomic.py``'s prefix, so one left by a killed hook is swept like any other.
"""
from __future__ import annotations

SHELL_HOOKS = {
    "prepare-commit-msg": """\
# Nothing to decide here, so no Python: note whether git hinted at --amend (commit-msg
# reads the running `git commit`'s own argv first) and forget the pending receipts of
# abandoned commits, exactly as `avorelo-gate hook prepare-commit-msg` does.
dir=$(git rev-parse --absolute-git-dir) || exit 3
dir="$dir/avorelo"
head=$(git rev-parse -q --verify "HEAD^{{commit}}") && head="\\"$head\\"" || head=null
amend=false
if [ "${{2:-}}" = commit ] && [ "${{3:-}}" = HEAD ]; then amend=true; fi
# Runs even under --no-verify: a pending receipt from an abandoned commit must not be
# attached to this one.
rm -rf "$dir/pending" && mkdir -p "$dir" || exit 3
tmp="$dir/.avorelo-tmp-prepare-commit-msg.$$"
if printf '{{"amend": %s, "head": %s}}' "$amend" "$head" >"$tmp" &&
   mv -f "$tmp" "$dir/prepare-commit-msg.json"; then
    exit 0
fi
rm -f "$tmp"
echo "avorelo-gate: cannot write $dir/prepare-commit-msg.json" >&2
exit 3
""",
}
