"""Where outputs go: checked before any work, written under temporary names, and every write
failure told as one line naming the file it was for.

Run folders, reports and sweep pages are built under temporary names that carry the writing
process's id (`.<name>.partial-<pid>`, `.report-<pid>`, `.<name>.<pid>.tmp`) and renamed into
place when complete. A process that is killed leaves its temporary behind; the next writer
into the same folder removes those whose process no longer exists. `write_all` writes a set
of files in two processes (there are two cores) and the same bytes as one process would. A
`Helper` is a second process started before a long computation, to do meanwhile what needs none
of its results (a run's: reading the data, importing matplotlib, the regime picture) and then
what it is sent (the report's pictures).
"""
from __future__ import annotations

import os
import pickle
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fedcut.core.errors import FedcutError

T = TypeVar("T")

TEMPORARY = re.compile(r"\..+\.partial-(?P<a>\d+)|\.report-(?P<b>\d+)|\..+\.(?P<c>\d+)\.tmp")


def check_new_folder(out: Path, refusal: str, label: str = "") -> None:
    """Refuse, before any work, an output folder that exists (`refusal` says what to do instead;
    `label` names the option that chose it) or that cannot be created where it is asked for;
    the message names the real location."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise FedcutError(f"{label + ' ' if label else ''}{out}: already exists; {refusal}")
    check_can_create_in(out.parent, f"so {out} cannot be written")


def check_can_create_in(folder: Path, consequence: str) -> None:
    """Refuse a folder in which no folder can be created: it, or its nearest existing ancestor,
    is not a folder or does not let this process create anything (tried, not guessed)."""
    place = Path(folder)
    while not (place.exists() or place.is_symlink()) and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise FedcutError(f"{place}: not a folder, {consequence}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".fedcut-probe-", dir=place))
    except OSError as exc:
        raise FedcutError(f"{place}: cannot create anything there ({exc.strerror or exc}), {consequence}") from None


def free_name(out: Path) -> Path:
    """`out` if nothing has that name, else the first free `out-2`, `out-3`, ..."""
    out = Path(out)
    candidate, n = out, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    return candidate


def own_folder(folder: Path) -> Path:
    """`folder`, made if absent; refused if it is a symbolic link or not a folder, since writing
    into it would write wherever it points."""
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FedcutError(f"{folder}: {'a symbolic link' if folder.is_symlink() else 'not a folder'}; "
                          "fedcut writes only into folders it made")
    with writing(folder):
        folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Let an OSError while writing `path` (a full disk, a read-only folder) out as one
    FedcutError naming the file, also when the operating system did not name it."""
    try:
        yield
    except OSError as exc:
        raise FedcutError(f"{exc.filename or path}: cannot write ({exc.strerror or exc})") from None


def remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporaries in `folder` of processes that no longer run (see the module's doc)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return
    for entry in folder.iterdir():
        found = TEMPORARY.fullmatch(entry.name)
        if not found:
            continue
        pid = int(next(v for v in found.groupdict().values() if v is not None))
        if _running(pid):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as existing)."""
    if pid < 1 or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # no process can have such an id
        return False
    return True


@dataclass(frozen=True)
class Output:
    """One file to write: `write()` writes it at `path`; `cost` is a rough share of the work (seconds
    on an idle machine) used only to share the files out evenly."""

    path: Path
    cost: float
    write: Callable[[], object]


def write_all(outputs: list[Output], meanwhile: Callable[[], T] | None = None, meanwhile_cost: float = 0.0) -> T | None:
    """Write every output, in two processes when that is safe, and return what `meanwhile` returns.

    A forked child writes about half of the outputs (by cost, counting `meanwhile_cost` for this
    process) while this process calls `meanwhile` (work that needs no output, e.g. the tables of a
    page) and writes the rest; it waits for the child before it returns or raises, so nothing is
    left running. A failure in either is raised here as the exception the writer raised (an
    OSError as one FedcutError naming its file). Without fork, or with other threads running
    (forking them is unsafe), everything is done here in turn; the files are the same bytes either way.
    """
    mine, theirs = _share_out(outputs, meanwhile_cost)
    if not theirs or not _can_fork():
        result = meanwhile() if meanwhile else None
        for output in outputs:
            _write_one(output)
        return result
    child = _Child(lambda: [_write_one(output) for output in theirs])
    try:
        result = meanwhile() if meanwhile else None
        for output in mine:
            _write_one(output)
    finally:
        failure = child.join(f"{theirs[0].path.parent}: the process writing {', '.join(o.path.name for o in theirs)}")
    if failure:
        raise failure
    return result


class Helper:
    """A second process forked now, to work while this one computes.

    It calls `first()`, if given, and sends its result back (`first_result()` here, e.g. data it
    read while this process loaded something else; it must pickle); then `ahead(result)` (or
    `ahead()`): work that needs nothing still to come (importing matplotlib, files made from inputs
    already known), returning files as {path relative to a folder: bytes}. It then waits for
    `go(folder, work, *args)`, writes those files into `folder` and calls `work(*args)` (a
    module-level function: it is sent pickled; it may itself `write_all` in two processes).
    `join()` waits for it and raises its failure here. Nothing reaches the disk before `go`, so
    `close()` before it ends the helper at once; after it, `close()` waits for it, so no file is
    written into a folder this process is removing. Without fork, or with other threads running,
    everything is done here when asked for, in turn: the same results and bytes either way.
    """

    def __init__(self, ahead: Callable[..., dict[str, bytes]] | None = None, first: Callable[[], object] | None = None):
        self._ahead, self._first, self._child, self._orders, self._replies = ahead, first, None, None, None
        self._sent, self._value = False, _NOTHING
        if _can_fork():
            orders, self._orders = os.pipe()
            self._replies, replies = os.pipe()
            self._child = _Child(lambda: self._serve(orders, replies))
            os.close(orders)
            os.close(replies)

    def first_result(self):
        """What `first()` returned (in the helper, if forked); its failure is raised here."""
        if self._value is _NOTHING:
            if self._child is None:
                self._value = self._first()
            else:
                with os.fdopen(self._replies, "rb") as pipe:
                    reply = pipe.read()
                self._replies = None
                if not reply:  # it ended without a word: its report says why
                    self.join()
                    raise FedcutError("the helper process ended without sending its result")
                ok, self._value = pickle.loads(reply)
                if not ok:
                    raise self._value
        return self._value

    def go(self, folder: Path, work: Callable[..., object], *args) -> None:
        """Write the files made ahead into `folder`, then do `work(*args)` (in the helper, if forked)."""
        self._sent = True
        if self._child is None:
            _write_files(Path(folder), self._made())
            work(*args)
            return
        with os.fdopen(self._orders, "wb") as pipe:
            pipe.write(pickle.dumps((Path(folder), work, args)))
        self._orders = None

    def join(self) -> None:
        """Wait for the helper; raise its failure here."""
        failure = self._finish("the helper process")
        if failure:
            raise failure

    def close(self) -> None:
        """End the helper without its result: at once before `go`, else when it is done."""
        if self._child is not None and not self._sent:
            self._child.kill()
        self._finish("the helper process")

    def __enter__(self) -> "Helper":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _made(self) -> dict[str, bytes]:
        if self._ahead is None:
            return {}
        return self._ahead(self.first_result()) if self._first else self._ahead()

    def _finish(self, what: str) -> BaseException | None:
        for end in (self._orders, self._replies):
            if end is not None:
                os.close(end)
        self._orders = self._replies = None
        child, self._child = self._child, None
        return child.join(what) if child is not None else None

    def _serve(self, orders: int, replies: int) -> None:
        """The helper's life: `first` (its result sent back), the work ahead, then the order (none if
        this process gave up)."""
        os.close(self._orders)  # this process's ends: each end of file must come when the other side closes
        os.close(self._replies)
        if self._first is not None:
            try:
                reply = (True, self._first())
            except Exception as exc:  # noqa: BLE001 - raised by first_result in the other process
                reply = (False, exc)
            with os.fdopen(replies, "wb") as pipe:
                pipe.write(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
            if not reply[0]:
                return
            self._value = reply[1]
        else:
            os.close(replies)
        try:
            made, failed = self._made(), None
        except Exception as exc:  # noqa: BLE001 - told when the order comes, never lost
            made, failed = {}, exc
        with os.fdopen(orders, "rb") as pipe:
            order = pipe.read()
        if not order:
            return
        folder, work, args = pickle.loads(order)
        if failed is not None:
            raise failed
        _write_files(folder, made)
        work(*args)


_NOTHING = object()


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        with writing(folder / name):
            (folder / name).write_bytes(data)


def _can_fork() -> bool:
    """Whether a forked child is safe: fork exists and no other thread runs (forking threads is unsafe)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class _Child:
    """A forked child calling `work()`; its first failure comes back pickled through a pipe."""

    def __init__(self, work: Callable[[], object]):
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(read_end)
            status, payload = 0, b""
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                status, payload = 1, _pickled(exc)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            os._exit(status)  # no atexit handlers, no flushing of the parent's buffers
        os.close(write_end)
        self._report = read_end

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def join(self, what: str) -> BaseException | None:
        """Wait for the child; its failure (an exception to raise), or None. `what` names it in the
        message when it ended without saying why (killed)."""
        with os.fdopen(self._report, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if payload:
            return pickle.loads(payload)
        if status != 0:
            return FedcutError(f"{what} ended with status {os.waitstatus_to_exitcode(status)}")
        return None


def _write_one(output: Output) -> None:
    with writing(output.path):
        output.write()


def _share_out(outputs: list[Output], head_start: float = 0.0) -> tuple[list[Output], list[Output]]:
    """Two lists of about equal cost, each in the given order (largest first to the lighter list);
    the first list's process has `head_start` of other work."""
    loads, shares = [head_start, 0.0], ([], [])
    for k in sorted(range(len(outputs)), key=lambda k: (-outputs[k].cost, k)):
        lighter = 0 if loads[0] <= loads[1] else 1
        loads[lighter] += outputs[k].cost
        shares[lighter].append(k)
    return tuple([outputs[k] for k in sorted(share)] for share in shares)


def _pickled(exc: BaseException) -> bytes:
    try:
        return pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled is sent as its text
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
