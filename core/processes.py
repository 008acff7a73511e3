"""Worker processes that never outlive the run that started them.

A killed parent (SIGKILL from a scheduler, an OOM kill, a closed terminal) cannot tell its pool
to stop, and spawned workers then sit idle for good, each holding a few hundred MB. So each
worker learns its parent's pid when it starts and exits as soon as the parent is gone: at once
on Linux (the kernel sends it SIGKILL, ``PR_SET_PDEATHSIG``), and within a second elsewhere
(a watchdog thread sees its parent pid change). Once the workers are gone, multiprocessing's
resource tracker, whose pipe they held open, ends too.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

WATCH_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that exit when this process dies.

    Spawned, not forked: a forked worker would carry all of the parent's memory (a planned
    release is about 1 GB), a spawned one only what it is handed.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def die_with_parent(parent: int) -> None:
    """Make this process exit when ``parent`` does (a pool initializer)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl (an unusual libc): the watchdog remains
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="die-with-parent", daemon=True).start()


def _watch(parent: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != parent:
            os._exit(1)
