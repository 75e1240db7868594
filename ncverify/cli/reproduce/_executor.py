"""Runs that last: each run's result is written the moment it finishes, ``resume`` skips
the runs already written, ``jobs`` runs them in parallel processes.

A run's file ``<run_dir>/<key>.json`` holds ``{"config": config.to_json(), "result": ...}``,
written atomically. Floats are written with ``repr`` (NaN as the JSON token ``NaN``), so a
result read back is bit-for-bit the result computed, and a figure merged from files equals
the one from a single uninterrupted run. The executor only needs :func:`execute`
(config → result dict), so another backend can distribute the same configs.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ._config import RunConfig
from ._execute import RESULT_FORMAT, execute

__all__ = ["RUN_SCHEMA", "load_run", "run_configs", "save_run"]

RUN_SCHEMA = "ncverify-run/1"


def _canonical(obj: Any) -> Any:
    """``to_json`` output as the JSON round trip gives it (tuples → lists)."""
    return json.loads(json.dumps(obj))


def save_run(path: str | os.PathLike, config: RunConfig, result: dict[str, Any]) -> Path:
    """Write one run's file atomically (readers see the old file or the new one)."""
    from ...report import atomic_write

    text = json.dumps(
        {"schema": RUN_SCHEMA, "config": config.to_json(), "result": result}, allow_nan=True
    )
    return atomic_write(path, text + "\n")


def load_run(path: str | os.PathLike) -> dict[str, Any]:
    """The ``{"config", "result"}`` of a run file; :class:`InvalidInput` if unreadable."""
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"run file {str(path)!r} cannot be read ({exc}); delete it to rerun that run"
        ) from None
    if not isinstance(record, dict) or record.get("schema") != RUN_SCHEMA:
        raise InvalidInput(
            f"run file {str(path)!r} is not an ncverify run record ({RUN_SCHEMA}); "
            "delete it to rerun that run"
        )
    return record


def _execute_and_save(config: RunConfig, path: str) -> dict[str, Any]:
    """Worker entry: run, then write the file at once (so a crash later keeps it)."""
    result = execute(config)
    save_run(path, config, result)
    return result


def run_configs(
    configs: Sequence[RunConfig],
    run_dir: str | os.PathLike,
    *,
    jobs: int = 1,
    resume: bool = False,
    progress=None,
    executor=None,
) -> tuple[list[dict[str, Any]], int]:
    """Execute ``configs`` (results in the same order) and how many were resumed.

    ``resume=True`` reads the finished runs from ``run_dir`` instead of running them; a file
    whose recorded config differs from the run's raises :class:`InvalidInput` (mixing two
    set-ups into one figure is never silent); an evaluated run whose file records another
    :data:`RESULT_FORMAT` (what a run records changed since) is recomputed. ``jobs > 1`` runs
    up to ``jobs`` configs at once in spawned processes. ``progress``: an object with
    ``advance(n)``, advanced by each run's step count when it finishes. ``executor``: an
    :class:`ncverify.exec.Executor` to run them with instead (default: the one
    ``$NCVERIFY_BACKEND`` selects, set by ``--backend``; with the local backend, this
    function's own loop or process pool); each result is written by this process as it
    arrives.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InvalidInput(f"jobs={jobs!r}; it must be a positive integer")
    if executor is None and os.environ.get("NCVERIFY_BACKEND", "local") != "local":
        from ...exec import current_executor

        executor = current_executor()
    if executor is not None and jobs > 1:
        raise InvalidInput(
            f"jobs={jobs} runs local processes; with the {executor.name} backend the executor "
            "decides how many runs execute at once: drop --jobs"
        )
    keys = [c.key for c in configs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise InvalidInput(f"run keys must be unique, got duplicates {dup}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    pending = []
    for c in configs:
        path = run_dir / f"{c.key}.json"
        if resume and path.is_file():
            record = load_run(path)
            recorded = dict(record.get("config") or {})
            if recorded.get("role") == "check":  # the default role, written by early versions
                recorded.pop("role")
            if recorded != _canonical(c.to_json()):
                raise InvalidInput(
                    f"--resume: {path.name} in {str(run_dir)!r} was made with a different "
                    f"configuration (recorded {record.get('config')!r}); use another --out "
                    "directory, or drop --resume to recompute"
                )
            if c.evaluate and record["result"].get("format") != RESULT_FORMAT:
                pending.append(c)  # judged by an older version of what a run records
                continue
            results[c.key] = record["result"]
            if progress is not None:
                progress.advance(c.train.steps)
        else:
            pending.append(c)
    resumed = len(configs) - len(pending)
    if executor is not None:

        def arrived(c: RunConfig, result: dict[str, Any]) -> None:
            save_run(run_dir / f"{c.key}.json", c, result)
            results[c.key] = _canonical_result(result)
            if progress is not None:
                progress.advance(c.train.steps)

        executor.map(execute, pending, on_result=arrived)
    elif jobs == 1 or len(pending) <= 1:
        for c in pending:
            results[c.key] = _canonical_result(_execute_and_save(c, str(run_dir / f"{c.key}.json")))
            if progress is not None:
                progress.advance(c.train.steps)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=ctx) as pool:
            futures = {
                pool.submit(_execute_and_save, c, str(run_dir / f"{c.key}.json")): c
                for c in pending
            }
            for fut in as_completed(futures):
                c = futures[fut]
                results[c.key] = _canonical_result(fut.result())
                if progress is not None:
                    progress.advance(c.train.steps)
    return [results[k] for k in keys], resumed


def _canonical_result(result: dict[str, Any]) -> dict[str, Any]:
    """The result as a file would give it back (tuples → lists), so fresh and resumed runs
    aggregate identically."""
    return json.loads(json.dumps(result, allow_nan=True))
