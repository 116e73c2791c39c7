"""Where the pipeline meets the outside: the inbox's files, the warehouse, the files it writes, the machine."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The cores this process may run on (`taskset`, a container's cpuset), not the machine's:
    a run given one core of two reads with one thread, not two taking turns on that core."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # (no affinity on this system)
        return os.cpu_count() or 1
