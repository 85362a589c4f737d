"""A large night's workbook, written by another process while the reminders render.

xlsxwriter takes about a second per 160,000 cells: 100,000 open items are ten seconds or more,
which overlap rendering when another process does it.  The process writes every
sheet the reports fix at once, then waits for the delivery facts (``finish``), writes the
Summary and the Dunning proposal and closes the file.  If the run never gets there (it failed,
its process is gone), the pipe closes, the process removes its partial file and ends.

A plain ``multiprocessing`` process and a pipe, not a pool: the worker needs a second message
after it started.  ``spawn``, not ``fork``: the caller may be a Prefect worker with threads
holding locks.  The inputs go down the pipe from a thread, not as the process's arguments:
arguments are written before ``start`` returns, and the child reads them only once its
interpreter is up (2.9 s of the run's own time at size l).
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from pathlib import Path

from receivables.errors import ReceivablesError
from receivables.workbook.inputs import Delivery, WorkbookInputs


class BackgroundWorkbook:
    """The workbook being written at ``path`` by another process; ``finish`` completes it."""

    def __init__(self, path: Path, inputs: WorkbookInputs) -> None:
        self.path = path
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_write, args=(path, child), name="receivables-workbook", daemon=True)
        self._process.start()
        child.close()  # only the child holds its end: the parent sees EOF if the child dies
        self._sending = threading.Thread(
            target=self._send, args=(inputs,), name="receivables-workbook-inputs", daemon=True
        )
        self._sending.start()

    def _send(self, message: object) -> None:
        try:
            self._conn.send(message)
        except OSError:
            pass  # the writer stopped early: its reason is waiting in the pipe
        except (TypeError, ValueError):
            pass  # the run closed its end meanwhile (it dropped the workbook): nobody waits

    def finish(self, delivery: Delivery) -> Path:
        """Hand over the delivery facts, wait for the file to be closed, and return its path;
        raises what the writer raised."""
        self._sending.join()
        self._send(delivery)
        try:
            ok, message = self._conn.recv()
        except EOFError:
            ok, message = False, f"the workbook process ended without a word (exit code {self._process.exitcode})"
        finally:
            self._conn.close()
            self._process.join()
        if not ok:
            raise ReceivablesError(message)
        return self.path


def _write(path: Path, conn) -> None:
    """The child: the inputs, the early sheets, then wait for the delivery, then the rest."""
    from receivables.workbook.book import ReportWorkbook

    try:
        inputs: WorkbookInputs = conn.recv()
    except (EOFError, OSError):
        return  # the run is gone before it sent anything: nothing was written
    try:
        book = ReportWorkbook(path, inputs)
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which raises it
        conn.send((False, _reason(exc)))
        return
    try:
        delivery = conn.recv()
    except (EOFError, OSError):
        book.abandon()  # the run is gone: leave nothing behind
        return
    try:
        book.finish(delivery)
        conn.send((True, str(path)))
    except BaseException as exc:  # noqa: BLE001
        conn.send((False, _reason(exc)))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ReceivablesError):
        return str(exc)
    return "The workbook could not be written: " + "".join(traceback.format_exception_only(exc)).strip()
