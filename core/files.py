"""Where outputs go: checked before any work, written under temporary names, and every write
failure told as one line naming the file it was for.

Run folders, reports and sweep pages are built in temporary folders (`temporary_folder`) and
moved into place when complete. A temporary's name carries the writing process's id and a random
token drawn once per process (`.<name>.<pid>-<token>.tmp`: `.run-....partial`, `.report`,
`.sweep.html`, `.fedcut-probe` before the id), and the folder holds a marker file
(`MARKER`) that repeats both: that is the proof it is fedcut's. A process that is killed leaves its
temporary behind; the next writer into the same folder removes those whose marker matches their
name and whose process no longer exists. Anything else that merely looks like one (a user's
`.report-123/`, `.x.partial-123`, `.x.123.tmp`) is never touched.

Every file written into a folder that already exists (`writing`) is refused if it is a symbolic
link or something other than a regular file or folder: fedcut never writes through a link.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from fedcut.core.errors import FedcutError

TOKEN = secrets.token_hex(8)  # this process's: drawn once, in every temporary's name and marker
MARKER = ".fedcut-temporary"  # the file inside a temporary folder that proves it is fedcut's
TEMPORARY = re.compile(r"\.(?P<what>.+)\.(?P<pid>\d+)-(?P<token>[0-9a-f]{16})\.tmp")


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
    is not a folder or does not let this process create anything (tried with a marked temporary,
    removed at once, or by the next writer if this process is killed meanwhile)."""
    place = Path(folder)
    while not (place.exists() or place.is_symlink()) and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise FedcutError(f"{place}: not a folder, {consequence}")
    remove_stale_temporaries(place)
    probe = place / temporary_name("fedcut-probe")
    try:
        _make_marked(probe)
    except OSError as exc:
        raise FedcutError(f"{place}: cannot create anything there ({exc.strerror or exc}), {consequence}") from None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def free_name(out: Path) -> Path:
    """`out` if nothing has that name, else the first free `out-2`, `out-3`, ..."""
    out = Path(out)
    candidate, n = out, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    return candidate


def replacing(target: Path, write: Callable[[Path], Path]) -> Path:
    """`write(target)` with the folder at `target` set aside under a temporary name while it runs:
    removed once the new one is complete, put back if writing fails, so a failure leaves the earlier
    folder as it was. The caller has checked that `target` is one fedcut made."""
    target = Path(target)
    aside = target.with_name(temporary_name(f"{target.name}.replaced"))
    with writing(target):
        os.rename(target, aside)
    try:
        written = write(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        os.rename(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    return written


def own_folder(folder: Path) -> Path:
    """`folder`, made if absent; refused if it is a symbolic link or not a folder, since writing
    into it would write wherever it points."""
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FedcutError(
            f"{folder}: {'a symbolic link' if folder.is_symlink() else 'not a folder'}; "
            "fedcut writes only into folders it made"
        )
    with writing(folder):
        folder.mkdir(exist_ok=True)
    return folder


def check_own_entry(path: Path) -> None:
    """Refuse `path` if it is a symbolic link (writing would write wherever it points) or exists as
    something other than a regular file or a folder (a pipe would block, a device would be written)."""
    path = Path(path)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FedcutError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISLNK(mode):
        raise FedcutError(f"{path}: a symbolic link; fedcut writes only files it made, never through a link")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise FedcutError(f"{path}: not a regular file; fedcut writes only files it made")


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Refuse `path` if it is a link or not a regular file or folder (`check_own_entry`), then let
    an OSError while writing it (a full disk, a read-only folder) out as one FedcutError naming the
    file, also when the operating system did not name it."""
    check_own_entry(path)
    try:
        yield
    except OSError as exc:
        raise FedcutError(f"{exc.filename or path}: cannot write ({exc.strerror or exc})") from None


def write_whole(path: Path, content: str | bytes | Callable[[BinaryIO], None]) -> Path:
    """Write `content` (text as UTF-8, or a function writing to the open file a piece at a time, so a
    large file is never whole in memory) to `path` whole or not at all (a full disk leaves the earlier
    file, or none): into a marked temporary folder beside it, then renamed over it. Its folder is
    made if absent."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with temporary_folder(path.parent, path.name, path) as scratch:
        with writing(path):
            if callable(content):
                with open(scratch / path.name, "wb") as stream:
                    content(stream)
            else:
                (scratch / path.name).write_bytes(content.encode() if isinstance(content, str) else content)
            os.replace(scratch / path.name, path)
    return path


def temporary_name(what: str) -> str:
    """The name of this process's temporary for `what` (see the module's doc)."""
    return f".{what}.{os.getpid()}-{TOKEN}.tmp"


@contextmanager
def temporary_folder(folder: Path, what: str, shown: Path) -> Iterator[Path]:
    """A marked temporary folder in `folder` (after removing stale ones there), removed on the way out
    whatever happens; an error naming a path inside it names `shown` instead (the user never asked
    for the temporary)."""
    folder = Path(folder)
    remove_stale_temporaries(folder)
    scratch = folder / temporary_name(what)
    try:
        with writing(shown):
            shutil.rmtree(scratch, ignore_errors=True)
            _make_marked(scratch)
        yield scratch
    except OSError as exc:
        raise FedcutError(
            f"{exc.filename or shown}: cannot write ({exc.strerror or exc})".replace(str(scratch), str(shown))
        ) from None
    except FedcutError as exc:
        raise type(exc)(str(exc).replace(str(scratch), str(shown))) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unmark(scratch: Path) -> None:
    """Take the marker out of a temporary folder about to become a real one (a run folder)."""
    (Path(scratch) / MARKER).unlink()


def _marker_text(pid: str | int, token: str) -> str:
    return f"fedcut temporary of process {pid}, token {token}\n"


def _make_marked(scratch: Path) -> None:
    scratch.mkdir()
    (scratch / MARKER).write_text(_marker_text(os.getpid(), TOKEN))


def remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporaries in `folder` of processes that no longer run: only folders named like
    one whose marker file repeats the name's process id and token (see the module's doc)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        found = TEMPORARY.fullmatch(entry.name)
        if found and _marked(entry, found["pid"], found["token"]) and not _running(int(found["pid"])):
            shutil.rmtree(entry, ignore_errors=True)


def _marked(entry: Path, pid: str, token: str) -> bool:
    """Whether `entry` is a real folder holding a regular marker file that names this pid and token."""
    marker = entry / MARKER
    try:
        if not (stat.S_ISDIR(entry.lstat().st_mode) and stat.S_ISREG(marker.lstat().st_mode)):
            return False
        with open(marker, "rb") as handle:
            return handle.read(200) == _marker_text(pid, token).encode()
    except OSError:
        return False


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
