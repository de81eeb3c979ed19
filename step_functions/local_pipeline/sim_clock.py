"""Simulated time for the local harness: the fake Personalize reads it, and
the harness advances it from the state machine's Wait states and Retry
back-offs, so a run of hours takes seconds."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


class SimClock:
    """Simulated time, advanced by the state machine's Wait states and Retry
    back-offs instead of sleeping.

    Each interpreter thread keeps its own time, so parallel branches (Map
    workers) wait side by side, as they would in Step Functions, instead of
    adding their waits up:

    - a thread starts at the time of the thread that starts it (``fork``);
    - a Map worker reports its time to the Map's thread when it finishes an
      item (``report``), before the Map can complete; a thread that ends
      reports to its parent;
    - the parent continues from the latest reported time once it has waited
      for its children (``fold``: after a Map state, after a program run);
      siblings started meanwhile are not affected.

    Threads the clock has not seen (the caller's own) share the base time, which
    an execution thread raises when it ends."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self._start = start
        self._base = 0.0
        self._times: dict[threading.Thread, float] = {}
        self._reported: dict[threading.Thread, float] = {}
        self._parents: dict[threading.Thread, threading.Thread] = {}
        self._lock = threading.Lock()

    def _time_of(self, thread: threading.Thread) -> float:
        return self._times.get(thread, self._base)

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._time_of(threading.current_thread()))

    def elapsed(self) -> float:
        with self._lock:
            return self._time_of(threading.current_thread())

    def advance(self, seconds: float) -> None:
        with self._lock:
            thread = threading.current_thread()
            if thread in self._times:
                self._times[thread] += seconds
            else:
                self._base += seconds

    def fork(self, child: threading.Thread) -> None:
        """Called in the parent thread when it starts ``child``."""
        with self._lock:
            parent = threading.current_thread()
            self._times[child] = self._time_of(parent)
            self._parents[child] = parent

    def report(self) -> None:
        """Called by a worker thread when it finishes a Map item."""
        with self._lock:
            thread = threading.current_thread()
            parent = self._parents.get(thread)
            if thread in self._times and parent is not None:
                self._reported[parent] = max(self._reported.get(parent, 0.0), self._times[thread])

    def fold(self) -> None:
        """Called by a thread once the children it waited for are done."""
        with self._lock:
            thread = threading.current_thread()
            reported = self._reported.pop(thread, None)
            if reported is None:
                return
            if thread in self._times:
                self._times[thread] = max(self._times[thread], reported)
            else:
                self._base = max(self._base, reported)

    def join(self, child: threading.Thread) -> None:
        """Called when ``child`` ends."""
        with self._lock:
            end = self._times.pop(child, None)
            parent = self._parents.pop(child, None)
            self._reported.pop(child, None)
            if end is None:
                return
            if parent in self._times:
                # Folded when the parent has waited for it (see ``fold``), so
                # siblings the parent starts meanwhile keep the parent's time.
                self._reported[parent] = max(self._reported.get(parent, 0.0), end)
            else:
                self._base = max(self._base, end)
            # A child's own children that are still running now belong to its parent.
            for other, its_parent in list(self._parents.items()):
                if its_parent is child and parent is not None:
                    self._parents[other] = parent
