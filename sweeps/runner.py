"""Run a sweep: every configuration of a spec, in parallel, stored as it finishes, then reported.

Executors: `local` runs in this process (`workers=1`) or in a pool of `workers` processes;
`dask` sends the same tasks to a Dask distributed scheduler. Each worker process prepares the
data, signals and benchmark once (cached in `fedcut.run`) and returns small dicts. The parent
alone writes the store, so a kill loses only the configurations in flight.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from fedcut.data.sources import default_data_dir, offline_from_env
from fedcut.errors import ConfigError, FedcutError
from fedcut.params import resolve
from fedcut.sweeps.evaluate import Plan, plan_for, task
from fedcut.sweeps.report import write_outputs
from fedcut.sweeps.spec import Spec
from fedcut.sweeps.store import Store

STORE = "sweep.sqlite"
EXECUTORS = ("local", "dask")

log = logging.getLogger(__name__)


def default_folder(spec: Spec) -> Path:
    """Where a sweep goes without --out: `results/sweep-<name>-<spec digest>` under the current directory."""
    return Path("results") / f"sweep-{spec.name}-{spec.digest()}"


def run_sweep(spec: Spec, out: Path, *, workers: int = 1, resume: bool = False, executor: str = "local",
              scheduler: str | None = None, data_dir: str | None = None, offline: bool | None = None,
              progress: bool = True) -> Path:
    """Evaluate every configuration of `spec` not yet stored in `out`, then write the outputs."""
    out = Path(out)
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor == "dask" and not scheduler:
        raise ConfigError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    if out.exists() and not resume:
        raise FedcutError(f"--out {out}: already exists; add --resume to continue that sweep")
    if resume and not (out / STORE).is_file():
        raise FedcutError(f"--resume: {out} holds no sweep store ({STORE})")
    # Workers on other machines need concrete settings, not this process's environment.
    folder = data_dir or default_data_dir()
    data_dir = str(Path(folder).resolve()) if folder else None
    offline = offline_from_env() if offline is None else offline
    base = resolve(spec.base, where=f"{spec.path}: [base]")
    plan = plan_for(base, spec.validation, data_dir, offline)  # checks the dates before anything is written
    out.mkdir(parents=True, exist_ok=resume)
    store = Store(out / STORE)
    try:
        store.claim(spec.digest(), Path(spec.path).read_text(), data_dir)
        if not resume:
            (out / "spec.toml").write_text(Path(spec.path).read_text())
        done = store.done()
        todo = [p for p in spec.points if p.config_hash not in done]
        by_position = {p.position: p for p in spec.points}
        outcomes = _execute(todo, plan, workers, executor, scheduler)
        bar = tqdm(total=len(spec.points), initial=len(spec.points) - len(todo), unit="config",
                   desc=f"sweep {spec.name}", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        failed = 0
        on_term = _stop_on_terminate()
        try:
            for outcome in outcomes:
                point = by_position[outcome["position"]]
                config = point.config.flat() if point.config is not None else {}
                store.add(point.config_hash, point.position, point.swept, config, outcome)
                failed += outcome["status"] != "ok"
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed)
        except KeyboardInterrupt:
            bar.close()
            log.warning("interrupted: %d of %d configurations are stored in %s; continue with --resume",
                        len(store.done()), len(spec.points), out)
            raise
        finally:
            bar.close()
            on_term()
        write_outputs(spec, out, store, data_dir, offline)
    finally:
        store.close()
    return out


def _stop_on_terminate():
    """Treat SIGTERM (a plain `kill`) like Ctrl-C while configurations run; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _execute(todo, plan: Plan, workers: int, executor: str, scheduler: str | None) -> Iterator[dict]:
    if executor == "dask":
        return _dask(todo, plan, scheduler)
    if workers == 1 or len(todo) <= 1:
        return (task(p.position, p.config, p.error, plan) for p in todo)
    return _pool(todo, plan, workers)


def _pool(todo, plan: Plan, workers: int) -> Iterator[dict]:
    """Worker processes (spawned: a clean interpreter on every platform) that ignore Ctrl-C, so the
    parent decides: it stops them and keeps what the store already has."""
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(min(workers, len(todo)), initializer=_ignore_interrupt)
    try:
        yield from pool.imap_unordered(_task_args, [(p.position, p.config, p.error, plan) for p in todo])
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _task_args(args) -> dict:
    return task(*args)


def _ignore_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _dask(todo, plan: Plan, scheduler: str) -> Iterator[dict]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--executor dask needs the optional extra: pip install -e \".[distributed]\"") from None
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise FedcutError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        futures = [client.submit(task, p.position, p.config, p.error, plan, pure=False) for p in todo]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()

