"""Where benchmark jobs run: in this process, in local worker processes, or on a Ray cluster.

Every executor calls the same :func:`run_job` on the same :class:`~serkit.benchmark.runner.Job` (a fully
resolved configuration, fold and run folder), so a job gives the same result wherever it runs. Results come
back to the calling process, which alone writes the result files (no two writers race on one file).
An executor yields ``(job, outcome)`` as jobs finish; ``outcome`` is the fold result (``metrics.json``
content) or a :class:`JobFailure`.

Ray (``pip install 'serkit[ray]'``): with ``RAY_ADDRESS`` set, ``ray.init()`` joins that cluster (every node
must see the corpora, the feature cache and the work folder at the same paths); otherwise a local Ray
instance starts; a Ray already initialised by the caller (``ray.init(num_cpus=1)``) is used as it is.
"""

from __future__ import annotations

import os
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from serkit.errors import ParameterError

__all__ = ["EXECUTORS", "JobFailure", "local_executor", "ray_executor", "run_job"]


@dataclass(frozen=True)
class JobFailure:
    """A job that raised: the exception's type and message (and traceback text, for the log)."""

    kind: str
    message: str
    traceback: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def run_job(job: Any) -> dict[str, Any]:
    """Train one (system, corpus, seed, fold) job; the fold result. Finished folds are returned as saved."""
    from serkit.train.config import ExperimentConfig, config_digest
    from serkit.train.run import train_fold

    _forget_other_features((job.protocol, job.corpus, job.system))
    config = ExperimentConfig.model_validate(job.config)
    if config_digest(config) != job.digest:  # the job carries the digest the result file will cite
        raise RuntimeError(f"job {job.name}: the configuration changed in transit ({config_digest(config)})")
    with warnings.catch_warnings():
        # scikit-learn's note on folds where a class is predicted but absent: expected on small test folds
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return train_fold(config, job.fold, job.run_dir, resume=True, quiet=True)


_LAST: list[tuple[str, str, str]] = []


def _forget_other_features(key: tuple[str, str, str]) -> None:
    """Drop the in-memory features of the previous system when another starts in this process.

    ``serkit.train.data`` keeps one experiment's features in memory so the folds of a run share them; a
    worker that runs many systems of one corpus would otherwise keep every frontend's arrays (Whisper
    frames of RAVDESS alone are ~3.5 GB).
    """
    if _LAST and _LAST[0] != key:
        from serkit.train import data

        memo = getattr(data, "_MEMO", None)
        if isinstance(memo, dict):
            memo.clear()
    _LAST[:] = [key]


def _safe(job: Any) -> tuple[Any, dict[str, Any] | JobFailure]:
    try:
        return job, run_job(job)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # reported per job; the other jobs go on
        return job, JobFailure(type(exc).__name__, str(exc), traceback.format_exc())


def local_executor(
    jobs: Iterable[Any], *, workers: int = 1, on_start: Callable[[Any], None] | None = None
) -> Iterator[tuple[Any, dict[str, Any] | JobFailure]]:
    """Run jobs here (``workers=1``) or in ``workers`` forked processes, yielding results as they finish."""
    jobs = list(jobs)
    if workers <= 1:
        for job in jobs:
            if on_start is not None:
                on_start(job)
            yield _safe(job)
        return
    from serkit._parallel import parallel_map

    yield from parallel_map(_safe, ((job,) for job in jobs), workers=workers, ordered=False)


def ray_executor(
    jobs: Iterable[Any], *, workers: int = 1, on_start: Callable[[Any], None] | None = None
) -> Iterator[tuple[Any, dict[str, Any] | JobFailure]]:
    """Send jobs to Ray as remote tasks; yield results as they finish. Ctrl-C cancels the pending tasks."""
    try:
        import ray
    except ImportError:
        raise ParameterError(
            "--executor ray needs Ray, an optional extra: pip install 'serkit[ray]' (or use --executor local)."
        ) from None
    jobs = list(jobs)
    if not jobs:
        return
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if not address:
            kwargs["num_cpus"] = max(workers, 1) * max(1, _threads(jobs[0]))
        ray.init(address=address or None, **kwargs)
    available = int(ray.cluster_resources().get("CPU", 1)) or 1
    remote = ray.remote(_safe)
    refs = {}
    for job in jobs:
        cpus = min(max(1, _threads(job)), available)
        refs[remote.options(num_cpus=cpus, max_retries=0).remote(job)] = job
    try:
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                job = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker died (memory, node lost)
                    yield job, JobFailure(type(exc).__name__, str(exc).splitlines()[0])
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise


def _threads(job: Any) -> int:
    return int(job.config.get("train", {}).get("threads") or 1)


EXECUTORS = {"local": local_executor, "ray": ray_executor}
