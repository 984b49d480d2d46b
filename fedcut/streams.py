"""Where a command's words go: notes and warnings to stderr through `logging`, progress bars only
for someone watching, the warnings raised while it ran told once as log lines, and a quiet end when
the reader of its output has gone (`fedcut now | head -1`)."""

from __future__ import annotations

import logging
import sys
import warnings

READER_GONE = (
    141  # exit status when stdout's reader has gone: 128 + SIGPIPE, what a shell shows for `seq 9999 | head -1`
)


def reader_gone() -> bool:
    """Whether stdout or stderr is a pipe whose reading end is closed (the kernel flags it as an error)."""
    import select

    for stream in (sys.stdout, sys.stderr):
        try:
            poller = select.poll()
            poller.register(stream.fileno(), 0)
            if any(event & select.POLLERR for _, event in poller.poll(0)):
                return True
        except (AttributeError, OSError, ValueError):  # a stream without a file (a test's capture)
            continue
    return False


def point_output_at_devnull() -> None:
    """Send whatever stdout and stderr still hold, and will be given, to /dev/null."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (AttributeError, OSError, ValueError):
            pass
    os.close(devnull)


class StderrHandler(logging.StreamHandler):
    """Writes each record to `sys.stderr` as it is when the record comes (a test or notebook may swap it);
    notes plainly, anything else prefixed by its level (`warning: ...`)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return text if record.levelno == logging.INFO else f"{record.levelname.lower()}: {text}"


def log_to_stderr(quiet: bool, verbose: bool) -> None:
    """Notes (INFO) by default; -q keeps warnings only, -v adds debug detail."""
    logger = logging.getLogger("fedcut")
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        logger.addHandler(StderrHandler())
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


def progress_bars() -> bool:
    """Progress bars only for someone watching: stderr is a terminal and -q was not given."""
    return sys.stderr.isatty() and logging.getLogger("fedcut").isEnabledFor(logging.INFO)


def tell_warnings(caught: list[warnings.WarningMessage], failed: bool) -> None:
    """The warnings raised while the command ran, as log lines, never as Python prints them (with the
    source line that raised them): a `DataWarning` (something unusual in a file) as `warning: ...`
    once, anything else (a library's FutureWarning, numpy's RuntimeWarning) as debug detail (-v). After
    an error none is a warning: the error's one line is what went wrong."""
    if not caught:
        return
    from fedcut.data.readers import DataWarning

    log = logging.getLogger("fedcut.cli")
    told = set()
    for w in caught:
        text = str(w.message)
        if text in told:
            continue
        told.add(text)
        if issubclass(w.category, DataWarning) and not failed:
            log.warning(text)
        else:
            log.debug("%s: %s (%s:%s)", w.category.__name__, text, w.filename, w.lineno)
