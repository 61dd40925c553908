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

# What the Python hooks run: ``python -m avorelo_gate`` would import runpy (and importlib.util
# with it) first, ~6 ms of every hook; the console script's own two lines do not.
LAUNCHER = "import sys; from avorelo_gate.main import main; sys.exit(main())"

# Shell run before Python starts, per hook; AVORELO_GATE_NO_SHELL=1 skips it (every hook
# then runs in Python: the tests compare the two).
#
# pre-commit cannot know the task (the message's Task: outranks every other source), and in
# a `git commit` commit-msg always runs when pre-commit does (--no-verify skips both): with
# install's commit-msg hook beside it, it leaves the whole check to commit-msg, as the
# contract lets it ("it defers and says so"), and the commit starts one Python process
# instead of two. Alone (`install --hook pre-commit`), it checks what it can, in Python.
#
# post-commit attaches the receipt commit-msg left, when it left one for this tree on this
# parent in the shell's form (receipts/recording.py ``_leave_for_shell``: unsigned, its
# bytes around the commit id): one hash-object and one `notes add` under the lock every
# receipt writer takes (flock(1) on receipts/store.py's lock file, which Python locks with
# flock(2)). Anything else (a signing key, no flock, no such receipt, an error) falls
# through to Python, which does the whole job.
PRELUDES = {
    "pre-commit": """\
case "$0" in */*) beside="${{0%/*}}/commit-msg" ;; *) beside=commit-msg ;; esac
if [ -z "${{AVORELO_GATE_NO_SHELL:-}}" ] && [ -f "$beside" ] &&
   grep -q '^{marker}: commit-msg$' "$beside"; then
    echo "avorelo-gate: pre-commit: the whole check runs at commit-msg, with the message's task" >&2
    exit 0
fi
""",
    "post-commit": """\
attach() {{
    [ -z "${{AVORELO_GATE_NO_SHELL:-}}${{AVORELO_RECEIPT_KEY:-}}" ] || return 1
    command -v flock >/dev/null 2>&1 || return 1
    export GIT_NO_REPLACE_OBJECTS=1
    info=$(git rev-parse --path-format=absolute --git-dir --git-common-dir HEAD \\
           'HEAD^{{tree}}' 'HEAD^@' 2>/dev/null) || return 1
    {{ IFS= read -r dir; IFS= read -r common; IFS= read -r head; IFS= read -r tree
       IFS= read -r parent; }} <<EOF
$info
EOF
    file="$dir/avorelo/pending/$tree.sh"
    [ -f "$file" ] && [ -n "$(find "$file" -mmin -60 2>/dev/null)" ] || return 1
    {{ IFS= read -r form; IFS= read -r base; IFS= read -r before; IFS= read -r between
       IFS= read -r after; IFS= read -r said; }} <"$file" || return 1
    [ "$form" = "avorelo-pending-shell 1" ] || return 1
    [ "$base" = "${{parent:--}}" ] || return 1
    blob=$(printf '%s%s%s%s%s' "$before" "$head" "$between" "$head" "$after" |
           git hash-object -w --stdin) || return 1
    {{ [ -d "$common/avorelo" ] || mkdir -p "$common/avorelo"; }} &&
    flock -w 30 "$common/avorelo/notes.lock" \\
        git notes --ref=refs/notes/avorelo add -f -C "$blob" "$head" 2>/dev/null || return 1
    rm -f "$file" "$dir/avorelo/pending/$tree.json"  # all there is: prepare-commit-msg cleared
    how="(the commit-msg verdict)"
    printf 'avorelo-gate: receipt %.12s %s attached to refs/notes/avorelo %s\\n' \\
        "$head" "$said" "$how" >&2
}}
if attach; then exit 0; fi
""",
}

SHELL_HOOKS = {
    "prepare-commit-msg": """\
# Nothing to decide here, so no Python: note whether git hinted at --amend (commit-msg
# reads the running `git commit`'s own argv first) and forget the pending receipts of
# abandoned commits, exactly as `avorelo-gate hook prepare-commit-msg` does.
# One git process: the directory, and HEAD's commit (absent before the first commit).
out=$(git rev-parse --absolute-git-dir --verify -q "HEAD^{{commit}}")
case $? in 0|1) ;; *) exit 3 ;; esac
{{ IFS= read -r dir; IFS= read -r head; }} <<EOF
$out
EOF
[ -n "$dir" ] || exit 3
dir="$dir/avorelo"
if [ -n "$head" ]; then head="\\"$head\\""; else head=null; fi
# git passes the message's source and object as $2 and $3; the pre-commit framework, which
# runs this file as its prepare-commit-msg hook too, passes them in its environment.
src=${{2-${{PRE_COMMIT_COMMIT_MSG_SOURCE-}}}}
obj=${{3-${{PRE_COMMIT_COMMIT_OBJECT_NAME-}}}}
amend=false
if [ "$src" = commit ] && [ "$obj" = HEAD ]; then amend=true; fi
# Runs even under --no-verify: a pending receipt from an abandoned commit must not be
# attached to this one.
rm -rf "$dir/pending" && {{ [ -d "$dir" ] || mkdir -p "$dir"; }} || exit 3
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
