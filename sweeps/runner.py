"""Run a sweep: every configuration of a spec, in parallel, stored as it finishes, then reported.

Executors: `local` runs in this process (`workers=1`) or in a pool of `workers` processes;
`dask` sends the same tasks to a Dask distributed scheduler. Each worker process prepares the
data, signals and benchmark once (cached in `fedcut.run`) and returns small dicts. The parent
alone writes the store, so a kill loses only the configurations in flight.
"""
from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tqdm import tqdm

from fedcut.data.sources import default_data_dir, offline_from_env
from fedcut.errors import ConfigError, FedcutError
from fedcut.files import check_new_folder, writing
from fedcut.params import resolve
from fedcut.sweeps.evaluate import Plan, plan_for, task
from fedcut.sweeps.report import write_outputs
from fedcut.sweeps.spec import Spec
from fedcut.sweeps.store import Store

STORE = "sweep.sqlite"
LOCK = "sweep.lock"
EXECUTORS = ("local", "dask")
SCHEDULER_TIMEOUT = "10s"  # to connect to a Dask scheduler


def run_sweep(spec: Spec, out: Path, *, workers: int = 1, resume: bool = False, executor: str = "local",
              scheduler: str | None = None, data_dir: str | None = None, offline: bool | None = None,
              progress: bool = True, force_workers: bool = False) -> Path:
    """Evaluate every configuration of `spec` not yet stored in `out`, then write the outputs.

    Everything that can be refused is refused before any file is written: the settings, the
    output location, the dates, the scheduler's connection. One sweep at a time works in a
    folder (a lock held while it runs)."""
    out = Path(out)
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor == "local" and workers > usable_cpus() and not force_workers:
        raise ConfigError(f"--workers {workers} is more than the {usable_cpus()} CPUs this machine lets the sweep "
                          "use; each worker holds its own copy of the data, so more only costs memory "
                          "(add --force-workers to start them anyway)")
    if executor == "dask":
        _check_scheduler(scheduler)
    with ExitStack() as stack:
        if resume:
            if not (out / STORE).is_file():
                raise FedcutError(f"--resume: {out} holds no sweep store ({STORE})")
            stack.enter_context(_lock(out))
        else:
            check_new_folder(out, "add --resume to continue that sweep", label="--out")
        # Workers on other machines need concrete settings, not this process's environment.
        folder = data_dir or default_data_dir()
        data_dir = str(Path(folder).resolve()) if folder else None
        offline = offline_from_env() if offline is None else offline
        base = resolve(spec.base, where=f"{spec.path}: [base]")
        plan = plan_for(base, spec.validation, data_dir, offline)  # checks the dates before anything is written
        client = None
        if executor == "dask":
            client = _connect(scheduler)
            stack.callback(client.close)
        if not resume:
            try:
                out.mkdir(parents=True)
            except FileExistsError:  # another sweep made it since the check above
                raise FedcutError(f"--out {out}: already exists; add --resume to continue that sweep") from None
            stack.enter_context(_lock(out))
        _sweep(spec, out, plan, workers, client, resume, progress)
    return out


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), which is what a pool of workers can use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _sweep(spec: Spec, out: Path, plan: Plan, workers: int, client, resume: bool, progress: bool) -> None:
    store = Store(out / STORE)
    try:
        store.claim(spec.digest(), Path(spec.path).read_text(), plan.data_dir)
        if not resume:
            with writing(out / "spec.toml"):
                (out / "spec.toml").write_text(Path(spec.path).read_text())
        done = store.done()
        stored = len(done)
        todo = [p for p in spec.points if p.config_hash not in done]
        by_position = {p.position: p for p in spec.points}
        outcomes = _execute(todo, plan, workers, client)
        bar = tqdm(total=len(spec.points), initial=stored, unit="config",
                   desc=f"sweep {spec.name}", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        failed = 0
        on_term = _stop_on_terminate()
        try:
            for outcome in outcomes:
                point = by_position[outcome["position"]]
                config = point.config.flat() if point.config is not None else {}
                try:
                    store.add(point.config_hash, point.position, point.swept, config, outcome)
                except FedcutError as exc:  # e.g. a full disk: what is stored stays, consistent
                    raise FedcutError(f"{exc}; {stored} of {len(spec.points)} configurations are stored: make room "
                                      "and continue with --resume") from None
                stored += 1
                failed += outcome["status"] != "ok"
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed)
        except KeyboardInterrupt:
            bar.close()
            print(f"interrupted: {stored} of {len(spec.points)} configurations are stored in {out}; "
                  "continue with --resume", file=sys.stderr)
            raise
        finally:
            outcomes.close()
            bar.close()
            on_term()
        write_outputs(spec, out, store, plan.data_dir, plan.offline, progress)
    finally:
        store.close()


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold `out/sweep.lock` while the sweep runs: a second sweep (or --resume) in the same folder
    is refused instead of writing the same store. The operating system releases the lock when
    the process ends, however it ends."""
    path = out / LOCK
    with writing(path):
        handle = open(path, "a+")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise FedcutError(f"{out}: another sweep (process {holder}) is running in this folder; wait for it "
                              "to finish") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def _stop_on_terminate():
    """Treat SIGTERM (a plain `kill`) like Ctrl-C while configurations run; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _execute(todo, plan: Plan, workers: int, client) -> Iterator[dict]:
    if client is not None:
        return _dask(todo, plan, client)
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


def _check_scheduler(scheduler: str | None) -> None:
    """A scheduler address distributed can read (tcp://HOST:PORT), refused before any work."""
    if not scheduler:
        raise ConfigError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        raise ConfigError("--executor dask needs the optional extra: pip install -e \".[distributed]\"") from None
    try:
        _, location = parse_address(scheduler)
        host, port = parse_host_port(location)
    except ValueError as exc:
        raise ConfigError(f"--scheduler {scheduler!r}: not a scheduler address ({exc}); expected e.g. "
                          "tcp://10.0.0.5:8786") from None
    if not host or not 0 < port < 65536:
        raise ConfigError(f"--scheduler {scheduler!r}: not a scheduler address (host {host!r}, port {port}); "
                          "expected e.g. tcp://10.0.0.5:8786")


def _connect(scheduler: str):
    """A client of the scheduler, or one line saying it cannot be reached (nothing written yet)."""
    from distributed import Client
    try:
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FedcutError(f"--scheduler {scheduler}: cannot connect ({exc})") from None


def _dask(todo, plan: Plan, client) -> Iterator[dict]:
    from distributed import as_completed
    futures = [client.submit(task, p.position, p.config, p.error, plan, pure=False) for p in todo]
    for future in as_completed(futures):
        yield future.result()
