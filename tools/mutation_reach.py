"""Run at the start of every Python process of the development environment while
tools/mutation_hand.py learns which tests reach which function (see ``Reach`` there): the
.pth line it installs executes this file when the mutant under test is "stats". Each function
mutmut's trampolines then see called is appended once to the file MUTATION_REACH_FILE names,
as it happens, so that a process ending by ``os._exit`` loses nothing. A process whose
environment lost that variable (a test that builds its children's environment anew) records
nothing, instead of reaching mutmut's own recorder, which needs mutmut's configuration and
fails outside the project."""
import os

import mutmut.mutation.trampoline as _trampoline

_FILE = os.environ.get("MUTATION_REACH_FILE", "")
_SEEN: set[str] = set()


def _record(name: str, caller: object = None) -> None:
    if _FILE and name not in _SEEN:
        _SEEN.add(name)
        with open(_FILE, "a", encoding="utf-8") as f:
            f.write(name + "\n")


_trampoline.record_trampoline_hit = _record
