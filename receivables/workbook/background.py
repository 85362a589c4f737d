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
interpreter is up (2.9 s of the run's own time at size l).  They are pickled straight into the
pipe, a frame at a time: ``Connection.send`` pickles the whole message into one bytes object
first, which at size l added ~0.6 GB to the run's process at the moment the reminders start
rendering, the night's peak.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import traceback
from multiprocessing.reduction import ForkingPickler
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
        #: why the inputs could not be sent whole, if so
        self._unsent: BaseException | None = None
        self._sending = threading.Thread(
            target=self._send_inputs, args=(inputs,), name="receivables-workbook-inputs", daemon=True
        )
        self._sending.start()

    def _send_inputs(self, inputs: WorkbookInputs) -> None:
        try:
            send_streamed(self._conn, inputs)
        except _PipeClosed:
            pass  # the writer stopped early (its reason is waiting in the pipe), or the run dropped it
        except Exception as exc:  # noqa: BLE001 - finish raises it (an OSError of the pickling too)
            # part of the pickle may be down the pipe already, and the writer would wait for the
            # rest: closing our end tells it the run is gone
            self._unsent = exc
            self._conn.close()

    def finish(self, delivery: Delivery) -> Path:
        """Hand over the delivery facts, wait for the file to be closed, and return its path;
        raises what the writer raised."""
        self._sending.join()
        if self._unsent is not None:
            self._process.join()
            raise ReceivablesError(f"The workbook's data could not be handed to its process: {self._unsent}")
        try:
            try:
                self._conn.send(delivery)
            except OSError:
                pass  # the writer stopped early: its reason is waiting in the pipe
            # a delivery that cannot be pickled raises here; the writer sees the pipe close
            ok, message = self._conn.recv()
        except EOFError:
            self._process.join()
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
        inputs: WorkbookInputs = receive_streamed(conn)
    except (EOFError, OSError, pickle.UnpicklingError):
        return  # the run is gone before it sent everything: nothing was written
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


def send_streamed(conn, message: object) -> None:
    """``conn.send(message)`` without the whole pickle in memory at once; the other end reads
    it with ``receive_streamed``."""
    ForkingPickler(_PipeWriter(conn), pickle.HIGHEST_PROTOCOL).dump(message)


def receive_streamed(conn) -> object:
    """What ``send_streamed`` sent; the next message on ``conn`` stays unread."""
    return pickle.load(_PipeReader(conn))


class _PipeWriter:
    """A file a pickler writes to: each piece (a frame of ~64 KB, or a large array's buffer
    as it is) goes down the pipe as one message."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def write(self, data) -> int:
        # an array's own buffer may be 2-D (a pandas block), whose len() send_bytes would take
        # for its size: sent as its raw bytes
        view = data.raw() if isinstance(data, pickle.PickleBuffer) else memoryview(data)
        try:
            self._conn.send_bytes(view)
        except OSError as exc:
            raise _PipeClosed from exc  # told apart from an OSError of the pickling itself
        return view.nbytes


class _PipeClosed(Exception):
    """The pipe to the workbook process broke or was closed while the inputs were sent."""


class _PipeReader:
    """The file ``pickle.load`` reads what ``_PipeWriter`` sent from: the pickle ends at the end
    of a message, so nothing of the next message (the delivery facts) is read ahead."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._buffer = memoryview(b"")

    def read(self, size: int) -> bytes:
        data = bytearray(size)
        self.readinto(data)  # fills it whole, or raises EOFError
        return bytes(data)

    def readinto(self, target) -> int:
        view = memoryview(target).cast("B")
        filled = 0
        while filled < len(view):
            if not self._buffer:
                self._buffer = memoryview(self._conn.recv_bytes())
            n = min(len(view) - filled, len(self._buffer))
            view[filled : filled + n] = self._buffer[:n]
            self._buffer = self._buffer[n:]
            filled += n
        return filled

    def readline(self) -> bytes:
        raise NotImplementedError("the inputs are pickled with protocol 5, which needs no readline")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ReceivablesError):
        return str(exc)
    return "The workbook could not be written: " + "".join(traceback.format_exception_only(exc)).strip()
