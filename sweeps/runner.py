"""Run a sweep: every configuration of a spec, in parallel blocks, stored as they finish, audited,
then reported.

Executors: `local` runs in this process (`workers=1`) or in a pool of `workers` processes;
`dask` sends the same tasks to a Dask distributed scheduler. A task is a block of configurations
that share their data and regime settings (`sweeps.evaluate.task`); each worker process prepares
the data, signals and benchmark once (cached in `fedcut.run.inputs`) and returns small dicts. The parent
alone writes the store, one transaction per block, so a kill loses only the blocks in flight.
The audit then re-runs the best configurations, a seeded sample and every configuration whose
decisions came within 1e-9 of a boundary in backtrader; any difference fails the sweep.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import math
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import CancelledError
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal

from fedcut.core.errors import ConfigError, FedcutError
from fedcut.core.files import check_new_folder, check_own_entry, write_whole, writing
from fedcut.core.params import resolve
from fedcut.data.sources import default_data_dir, offline_from_env
from fedcut.execution.engines import ARRAY, BACKTRADER, Engine
from fedcut.sweeps.evaluate import Plan, group_key, plan_for, task, warm_up
from fedcut.sweeps.points import Point, Points, Trials
from fedcut.sweeps.report import write_outputs
from fedcut.sweeps.spec import Spec
from fedcut.sweeps.store import DiskFull, Store
from fedcut.sweeps.tables import Results, kept_figures, summary_frame

# No monitor thread: the bars are updated by this process anyway.
tqdm.monitor_interval = 0
STORE = "sweep.sqlite"
LOCK = "sweep.lock"
EXECUTORS = ("local", "dask")
SCHEDULER_TIMEOUT = "10s"  # to connect to a Dask scheduler
# Seconds a Dask sweep waits while the scheduler has no worker and nothing finishes: long enough for a
# cluster manager to start or replace workers, short enough that a sweep left alone does not wait forever.
WORKER_WAIT = 300.0
DASK_POLL = 1.0  # seconds between looks at the scheduler's workers while nothing finishes
BLOCK_MAX = 256  # configurations per task: enough to amortise a task, few enough to keep every worker busy
PR_SET_PDEATHSIG = 1  # Linux prctl(2): the signal a process gets when its parent ends
QUIET_TRACKER = "ignore:resource_tracker:UserWarning"  # -W: its "There appear to be N leaked semaphore objects"
BLOCKS_PER_WORKER = 4  # smaller blocks for small sweeps, so the work spreads over the workers
GROUP_WINDOW = 4096  # configurations waiting for their group's block to fill before the partial blocks go
IN_FLIGHT_PER_WORKER = 2  # blocks queued per worker: enough to keep it busy, few enough to hold little
TRIM_EVERY = 4096  # configurations stored between returns of the parent's freed memory (`_return_freed_memory`)
DASK_IN_FLIGHT = 64  # blocks submitted to a Dask cluster at once, at least (more with more worker threads)

log = logging.getLogger(__name__)


def default_folder(spec: Spec) -> Path:
    """Where a sweep goes without --out: `results/sweep-<name>-<spec digest>` under the current directory."""
    return Path("results") / f"sweep-{spec.name}-{spec.digest()}"


def run_sweep(
    spec: Spec,
    out: Path,
    *,
    workers: int = 1,
    resume: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
    data_dir: str | None = None,
    offline: bool | None = None,
    progress: bool = True,
    force_workers: bool = False,
    engine: Engine = ARRAY,
    worker_wait: float = WORKER_WAIT,
) -> Path:
    """Evaluate every configuration of `spec` not yet stored in `out`, then write the outputs.

    Everything that can be refused is refused before any file is written: the settings, the
    output location, the dates, the scheduler's connection. One sweep at a time works in a
    folder (a lock held while it runs). A Dask sweep stops with one line when the scheduler has had no
    worker for `worker_wait` seconds or is lost; what is stored stays, for --resume."""
    out = Path(out)
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor == "local" and workers > usable_cpus() and not force_workers:
        raise ConfigError(
            f"--workers {workers} is more than the {usable_cpus()} CPUs this machine lets the sweep "
            "use; each worker holds its own copy of the data, so more only costs memory "
            "(add --force-workers to start them anyway)"
        )
    if executor == "dask":
        _check_scheduler(scheduler)
        if not worker_wait > 0:
            raise ConfigError(f"--worker-wait must be a positive number of seconds, got {worker_wait}")
    with ExitStack() as stack:
        # From the start, before the workers: a plain `kill` while they start used to end this process at
        # once, the pool never stopped, and Python's resource tracker report its semaphores as leaked.
        stack.callback(_stop_on_terminate())
        if resume:
            _check_own_folder(out)
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
        pool = None
        if executor == "local" and workers > 1 and (spec.search is not None or len(spec.points) > 1):
            # started now, so the workers' start-up overlaps the checks below
            pool = stack.enter_context(_pool(workers, base, data_dir, offline, engine))
        plan = plan_for(base, spec.validation, data_dir, offline, engine)  # checks the dates before anything is written
        kept = tuple((n, kept_figures(spec, n)) for n in sorted(s.name for s in plan.segments))
        plan = replace(plan, kept=kept, base=dict(spec.base))
        client = None
        if executor == "dask":
            stack.enter_context(_quiet_distributed())
            connection = _connect(scheduler)
            stack.callback(connection.close)
            client = Cluster(connection, worker_wait)
        if not resume:
            try:
                out.mkdir(parents=True)
            except FileExistsError:  # another sweep made it since the check above
                raise FedcutError(f"--out {out}: already exists; add --resume to continue that sweep") from None
            stack.enter_context(_lock(out))
        _sweep(spec, out, plan, workers, pool, client, resume, progress)
    return out


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), which is what a pool of workers can use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _sweep(spec: Spec, out: Path, plan: Plan, workers: int, pool, client, resume: bool, progress: bool) -> None:
    try:
        store = Store(out / STORE)
    except DiskFull as exc:
        raise DiskFull(f"{exc}; make room and continue with --resume") from None
    try:
        spec_text = Path(spec.path).read_text()
        try:
            store.claim(spec.digest(), spec_text, plan.data_dir, plan.engine.name)
        except DiskFull as exc:
            raise DiskFull(f"{exc}; make room and continue with --resume") from None
        if not (resume and (out / "spec.toml").is_file()):  # a sweep stopped by a full disk may not have it yet
            write_whole(out / "spec.toml", spec_text)
        points, search, results = spec.points, None, None
        if spec.search is not None:  # the points are made as the search runs, batch by batch
            from fedcut.sweeps.search import Searcher

            search, total = Searcher(spec, store.rows()), spec.search.trials
            stored = len(search.results)
            outcomes = search.outcomes(
                lambda todo: _execute(_blocks(Trials(todo), np.arange(len(todo)), workers), plan, pool, client, workers)
            )
        else:
            todo = np.flatnonzero(~np.isin(points.hashes, store.done_hashes()))
            stored, total = len(points) - len(todo), len(points)
            outcomes = _execute(_blocks(points, todo, workers), plan, pool, client, workers)
            results = Results(spec, store)  # the tables' columns, filled as blocks finish: no decoding them again
        bar = tqdm(
            total=total,
            initial=stored,
            unit="config",
            desc=f"sweep {spec.name}",
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        failed = 0
        try:
            for block, done in outcomes:
                by_position = {p.position: p for p in block}
                entries = []
                for outcome in done:
                    point = by_position[outcome["position"]]
                    entries.append((point.config_hash, point.position, point.swept, outcome))
                    if results is not None:
                        results.add(point.position, outcome["status"], outcome["error"], point.swept, outcome["result"])
                try:
                    store.add(entries)
                except FedcutError as exc:  # e.g. a full disk: what is stored stays, consistent
                    raise FedcutError(
                        f"{exc}; {stored} of {total} configurations are stored: make room and continue with --resume"
                    ) from None
                if stored // TRIM_EVERY != (stored + len(done)) // TRIM_EVERY:
                    _return_freed_memory()
                stored += len(done)
                failed += sum(o["status"] != "ok" for o in done)
                bar.update(len(done))
                if failed:
                    bar.set_postfix(failed=failed)
            if search is not None:  # the trials it made are the sweep's configurations
                spec = search.searched()
                results = Results(spec, store)
            results.fill()  # those stored by an earlier run, when resumed (a search's, all of them)
            audit_failures = _audit(spec, store, results, plan, pool, client, progress, workers)
        except Stopped as exc:  # the blocks in flight are lost; what is stored stays, consistent
            raise FedcutError(f"{exc}; {stored} of {total} configurations are stored: continue with --resume") from None
        except KeyboardInterrupt as exc:
            bar.close()
            log.warning(
                "interrupted: %d of %d configurations are stored in %s; continue with --resume",
                stored,
                total,
                out,
            )
            exc.reported = True  # the command adds no second line
            raise
        finally:
            outcomes.close()
            bar.close()
        if pool is not None:  # done with the workers: their threads would keep the pictures from a second process
            pool.terminate()
            pool.join()
        write_outputs(spec, out, store, plan.data_dir, plan.offline, results)
        if audit_failures:
            raise FedcutError(
                f"{out}: the audit found {audit_failures} configuration(s) whose backtrader re-run "
                "differs from the array engine (see sweep.html, 'Audit'): the results are not trustworthy"
            )
    finally:
        store.close()


def _blocks(points: Points, todo: np.ndarray, workers: int) -> Iterator[list[Point]]:
    """The configurations at positions `todo`, generated as they are needed, in blocks of the same group
    (`group_key`) in spec order; a group's partial block is sent once GROUP_WINDOW points wait."""
    size = max(1, min(BLOCK_MAX, math.ceil(len(todo) / (max(workers, 1) * BLOCKS_PER_WORKER))))
    groups: dict[tuple, list[Point]] = {}
    waiting = 0
    for point in points.at(todo):
        key = group_key(point.config) if point.config is not None else ("invalid",)
        members = groups.setdefault(key, [])
        members.append(point)
        waiting += 1
        if len(members) == size:
            waiting -= len(groups.pop(key))
            yield members
        elif waiting >= GROUP_WINDOW:
            yield from groups.values()
            groups, waiting = {}, 0
    yield from groups.values()


def audit_choice(spec: Spec, results: Results) -> dict[str, str]:
    """config_hash -> why it is re-run in backtrader: the `top` best in-sample, a seeded sample of
    `validation.audit_share` of the rest (at least one), and every configuration with a decision
    within 1e-9 of a boundary (share or contract rounding, band, refusal)."""
    ok = results.ok
    if not ok.any():
        return {}
    chosen = {}
    if spec.top:
        ranked = summary_frame(spec, results)
        chosen = {h: "top" for h in ranked[ranked["status"] == "ok"]["config_hash"].head(spec.top)}
    rest = np.sort(results.hashes[ok & ~np.isin(results.hashes, np.array(list(chosen), dtype=results.hashes.dtype))])
    share, n_ok = spec.validation.audit_share, int(ok.sum())
    if len(rest) and share > 0:
        size = max(1, math.ceil(share * n_ok))
        pick = (
            np.random.default_rng(spec.seed).choice(len(rest), size=size, replace=False)
            if len(rest) > size
            else range(len(rest))
        )
        chosen.update({str(rest[int(k)]): "sample" for k in pick})
    chosen.update({str(h): "boundary" for h in results.hashes[ok & (results.near_boundary > 0)]})
    return chosen


def _audit(
    spec: Spec, store: Store, results: Results, plan: Plan, pool, client, progress: bool, workers: int = 1
) -> int:
    """Re-run the audited configurations in backtrader (in the workers) and store, per
    configuration, whether every stored figure came out the same; returns how many differ. A sweep
    run in the reference engine itself (`--engine backtrader`) has nothing to audit."""
    if plan.engine.reference:
        return 0
    done = {a["config_hash"] for a in store.audits()}
    chosen = {h: why for h, why in audit_choice(spec, results).items() if h not in done}
    if not chosen:
        return sum(not a["identical"] for a in store.audits())
    todo = list(spec.points.at(spec.points.positions_of(chosen)))
    reference = replace(plan, engine=BACKTRADER, kept=None)  # whole results, to compare every figure
    bar = tqdm(
        total=len(todo),
        unit="config",
        desc="audit in backtrader",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    with bar:
        for block, done in _execute(([p] for p in todo), reference, pool, client, workers):
            for outcome in done:
                h = block[0].config_hash
                stored = store.row(h)["result"]
                stored = {k: v for k, v in stored.items() if k != "near_boundary"}
                again = {k: v for k, v in (outcome["result"] or {}).items() if k != "near_boundary"}
                difference = _first_difference(stored, again) if outcome["status"] == "ok" else outcome["error"]
                store.add_audit(h, chosen[h], not difference, difference)
                bar.update(1)
    return sum(not a["identical"] for a in store.audits())


def _first_difference(a, b, path: str = "") -> str:
    """Where two stored results differ ('' when they are the same to the last bit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return ""
    return "" if a == b or (a != a and b != b) else f"{path}: {a!r} vs {b!r}"


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold `out/sweep.lock` while the sweep runs: a second sweep (or --resume) in the same folder
    is refused instead of writing the same store. The operating system releases the lock when
    the process ends, however it ends."""
    path = out / LOCK
    with writing(path):  # O_NOFOLLOW: a link put there since the check is not followed either
        handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644), "r+")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise FedcutError(
                f"{out}: another sweep (process {holder}) is running in this folder; wait for it to finish"
            ) from None
        with writing(path):  # a full disk names the lock file
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        yield


def _check_own_folder(out: Path) -> None:
    """Refuse to resume in a folder that is a link, or holds a link or anything but regular files and
    folders (`core.files.check_own_entry`): the sweep rewrites its files, and would write through them."""
    if out.is_symlink():
        check_own_entry(out)
    with writing(out):
        entries = sorted(out.iterdir()) if out.is_dir() else []
    for entry in entries:
        check_own_entry(entry)


def _stop_on_terminate():
    """Treat SIGTERM (a plain `kill`) like Ctrl-C while the sweep runs, so the workers are stopped and
    their resources released; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _execute(
    blocks: Iterator[list[Point]], plan: Plan, pool, client, workers: int = 1
) -> Iterator[tuple[list[Point], list[dict]]]:
    """Each block with its outcomes, as blocks finish: on the Dask client, in the pool, or here. Blocks
    are taken from `blocks` only as there is room for them (a few per worker), so the configurations
    waiting to run are never all in memory."""
    if client is not None:
        return _dask(blocks, plan, client)
    if pool is None:
        return ((block, task(_items(block), plan)) for block in blocks)
    return _pooled(blocks, plan, pool, IN_FLIGHT_PER_WORKER * workers)


def _return_freed_memory() -> None:
    """Give the memory the parent has freed back to the operating system (glibc's `malloc_trim`; a
    no-op elsewhere). Every result passes through the parent on its way to the store; without this,
    the parent of a million-configuration sweep on Dask was still growing by about 1.5 kB a
    configuration at 150,000 with nothing more held, and with it levels off (docs/speed.md)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _items(block: list[Point], swept: bool = False) -> list[tuple]:
    """A block as `sweeps.evaluate.task` takes it; with `swept`, each configuration as its swept values
    (a few hundred bytes instead of every parameter's, resolved again in the worker)."""
    return [(p.position, (p.swept if swept else p.config) if p.config is not None else None, p.error) for p in block]


def _pooled(blocks: Iterator[list[Point]], plan: Plan, pool, window: int) -> Iterator[tuple[list[Point], list[dict]]]:
    """Blocks run in the pool, at most `window` queued at once, in the order they finish."""
    finished: queue.SimpleQueue = queue.SimpleQueue()
    blocks, running, more = iter(blocks), 0, True
    while True:
        while more and running < window:
            block = next(blocks, None)
            if block is None:
                more = False
                break
            pool.apply_async(
                task,
                (_items(block), plan),
                callback=lambda out, block=block: finished.put((block, out, None)),
                error_callback=lambda exc, block=block: finished.put((block, None, exc)),
            )
            running += 1
        if not running:
            return
        while True:
            try:
                block, out, exc = finished.get(timeout=DASK_POLL)  # a timeout, so Ctrl-C is seen
                break
            except queue.Empty:
                continue
        running -= 1
        if exc is not None:
            raise exc
        yield block, out


@contextmanager
def _pool(workers: int, base, data_dir: str | None, offline: bool | None, engine: Engine) -> Iterator:
    """Worker processes (spawned: a clean interpreter on every platform) that ignore Ctrl-C, so the
    parent decides: it stops them and keeps what the store already has. Each warms up as it
    starts (`sweeps.evaluate.warm_up`), while the parent checks the sweep."""
    ctx = multiprocessing.get_context("spawn")
    # Python's resource tracker, started with the pool, takes this process's -W options: after a `kill -9`
    # of this process it still removes the pool's semaphores, without a warning about each kill.
    if QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(QUIET_TRACKER)
    # Started with Ctrl-C ignored, which a new interpreter inherits: a Ctrl-C while they import would
    # otherwise print one traceback per worker.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        pool = ctx.Pool(workers, initializer=_start_worker, initargs=(base, data_dir, offline, engine))
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def _start_worker(base, data_dir: str | None, offline: bool | None, engine: Engine) -> None:
    """Ctrl-C is the parent's to handle; warnings too: the parent reads the same files before any
    configuration runs and tells theirs once (`fedcut.cli`), where each worker would print them again."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.simplefilter("ignore")
    _die_with_parent()
    warm_up(base, data_dir, offline, engine)


def _die_with_parent() -> None:
    """On Linux, end this worker when the sweep's process ends, however it ends: after a `kill -9` no worker
    computes on for nobody, then prints a traceback when it cannot hand its result back."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own checks stand
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it ended before the request took hold
        os._exit(0)


def _check_scheduler(scheduler: str | None) -> None:
    """A scheduler address distributed can read (tcp://HOST:PORT), refused before any work."""
    if not scheduler:
        raise ConfigError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        raise ConfigError('--executor dask needs the optional extra: pip install -e ".[distributed]"') from None
    try:
        _, location = parse_address(scheduler)
        host, port = parse_host_port(location)
    except ValueError as exc:
        raise ConfigError(
            f"--scheduler {scheduler!r}: not a scheduler address ({exc}); expected e.g. tcp://10.0.0.5:8786"
        ) from None
    if not host or not 0 < port < 65536:
        raise ConfigError(
            f"--scheduler {scheduler!r}: not a scheduler address (host {host!r}, port {port}); "
            "expected e.g. tcp://10.0.0.5:8786"
        )


def _connect(scheduler: str):
    """A client of the scheduler, or one line saying it cannot be reached (nothing written yet)."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FedcutError(f"--scheduler {scheduler}: cannot connect ({exc})") from None


class Cluster(NamedTuple):
    """A Dask client and how long a sweep on it waits without a worker."""

    client: object
    worker_wait: float


class Stopped(FedcutError):
    """The executor cannot go on (no Dask worker, the scheduler lost); the sweep says what is stored."""


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Keep distributed's own log lines (reconnection attempts, a lost scheduler) off the terminal while
    the sweep uses it: what went wrong is the sweep's one line."""
    loggers = [
        logging.getLogger(name)
        for name in ("distributed", *logging.root.manager.loggerDict)
        if name == "distributed" or name.startswith("distributed.")
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _dask(blocks: Iterator[list[Point]], plan: Plan, cluster: Cluster) -> Iterator[tuple[list[Point], list[dict]]]:
    """Each block with its outcomes as it finishes on the cluster, at most DASK_IN_FLIGHT blocks (or
    IN_FLIGHT_PER_WORKER per worker thread, if more) submitted at once; `Stopped` when no worker has
    been there and nothing has finished for `cluster.worker_wait` seconds, or when the scheduler is lost."""
    from distributed import wait
    from distributed.comm.core import CommClosedError

    client, wait_for = cluster
    address = client.scheduler.address
    blocks, more = iter(blocks), True
    try:
        pending: dict = {}
        threads = 0
        progress_at = time.monotonic()
        while True:
            while more and len(pending) < max(DASK_IN_FLIGHT, IN_FLIGHT_PER_WORKER * threads):
                block = next(blocks, None)
                if block is None:
                    more = False
                    break
                pending[client.submit(task, _items(block, swept=True), plan, pure=False)] = block
            if not pending:
                return
            try:
                done, _ = wait(list(pending), timeout=DASK_POLL, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                yield pending.pop(future), future.result()
            workers = client.scheduler_info().get("workers") or {}
            threads = sum(w.get("nthreads", 1) for w in workers.values())
            if done or workers:
                progress_at = time.monotonic()
            elif time.monotonic() - progress_at >= wait_for:
                raise Stopped(
                    f"--scheduler {address}: no worker for {wait_for:g} s (--worker-wait), the sweep "
                    "stopped; start workers (dask worker ADDRESS)"
                )
    except (CancelledError, CommClosedError, OSError) as exc:
        raise Stopped(
            f"--scheduler {address}: lost the connection to the scheduler ({type(exc).__name__}), the sweep stopped"
        ) from None
