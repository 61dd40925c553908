"""Git work run in a thread while the caller goes on.

A command that judges many commits waits on git for most of its time (the diffs' line
counts, the notes' blobs). The thread spends that time blocked on a pipe, which releases the
interpreter's lock, so git and the caller's Python proceed side by side on two cores.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any


class InBackground:
    """``work()`` run in a thread; ``result`` waits for it and gives its value or raises its
    exception, in the caller's thread. (Not generic: ``typing.Generic`` would load typing in
    every process that imports this; the callers name the value's type.)"""

    def __init__(self, work: Callable[[], Any], name: str = "avorelo-git") -> None:
        self._value: list[Any] = []    # the one value, once the work has ended without error
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True, name=name)
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._value.append(work())
        except BaseException as e:   # handed to the caller, in its thread
            self._error = e

    def join(self) -> None:
        """Wait for the work to end, whatever it gives (on the way out of an error)."""
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value[0]

    @staticmethod
    def join_all(works: Sequence[InBackground]) -> list[Any]:
        """Every work's value, in the order given, once all have ended (no thread is left
        behind); the first one's error, in that order, when any failed."""
        for work in works:
            work.join()
        return [work.result() for work in works]
