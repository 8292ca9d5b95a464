"""Process-pool helper shared by the long jobs (corpus preparation, feature extraction).

``multiprocessing.Pool`` rather than ``concurrent.futures``: on Ctrl-C the pool is terminated at once
(its workers may be busy in C code for seconds), where an executor's shutdown can wait on, or
deadlock with, a worker that never saw the interrupt. Finished work is already on disk, so nothing
is lost by killing the rest.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["parallel_map"]


def _worker_init(initializer: Callable[[], None] | None) -> None:
    # Ctrl-C reaches the whole process group; only the parent reacts (by terminating the pool),
    # so workers do not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a parent's SIGTERM handler (serkit.cli._common.guard) is inherited by fork; Pool.terminate() stops
    # workers with SIGTERM, which must kill them outright, not raise inside them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if initializer is not None:
        initializer()


def _star(call: tuple[Callable[..., Any], tuple]) -> Any:
    func, args = call
    return func(*args)


def parallel_map(
    func: Callable[..., R],
    arg_tuples: Iterable[tuple],
    *,
    workers: int,
    initializer: Callable[[], None] | None = None,
    ordered: bool = True,
    chunksize: int = 1,
) -> Iterator[R]:
    """Yield ``func(*args)`` for each tuple of ``arg_tuples``, computed in ``workers`` processes.

    ``ordered=False`` yields results as they finish. On any exception (including KeyboardInterrupt)
    in the consumer or a worker, the workers are terminated before the exception propagates.
    """
    calls = ((func, args) for args in arg_tuples)
    # fork: workers inherit the imported modules (torch) and any frontend registered at run time.
    pool = multiprocessing.get_context("fork").Pool(
        processes=workers, initializer=_worker_init, initargs=(initializer,)
    )
    try:
        mapper = pool.imap if ordered else pool.imap_unordered
        yield from mapper(_star, calls, chunksize=chunksize)
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    else:
        pool.close()
        pool.join()
