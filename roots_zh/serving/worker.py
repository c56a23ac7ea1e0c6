"""The model in its own process, so that the HTTP event loop never waits for the GIL.

Profiling the threaded server (issue 19) showed Paddle Inference's ``predictor.run`` holds the GIL:
while a batch ran, the event loop thread got ~6 % of its idle progress, so requests sat unparsed in
socket buffers, batches stayed small (mean 7.4 of 32) and latency was not bounded by the handler's
timeout. :class:`ProcessHandler` builds the task's handler in a spawned child process and talks to
it over a pipe; the parent only parses HTTP and batches. It is a plain ``items -> results``
callable (what :class:`~roots_zh.serving.batching.DynamicBatcher` runs in its worker thread).
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

# a ~100-character review: what calibration times (a full batch of it)
WARMUP_TEXT = ("这家酒店的位置很好，离地铁站只有几分钟的路程，房间干净整洁，服务员也很热情。"
               "唯一的缺点是早餐的种类比较少，隔音效果一般，晚上能听到走廊里的声音。")


# Paddle's OpenMP (iomp5): after a parallel region, threads spin this many ms before they sleep. The
# default (200 ms) keeps both cores busy long after a batch, starving the HTTP process; 0 (what
# OMP_WAIT_POLICY=PASSIVE means) puts them to sleep between the hundreds of regions of one batch.
MODEL_PROCESS_ENV = {"KMP_BLOCKTIME": "1"}


class WorkerError(RuntimeError):
    """The model process failed a batch or died; the message says how."""


def _child_main(conn, task: str, model: Optional[str], options: Dict[str, Any]) -> None:
    """Child process: build the handler, report ready, then answer ``items`` -> results until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent drains first, then closes the pipe
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from .tasks import build_handler

        handler = build_handler(task, model, **options)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", getattr(handler, "info", {})))
    while True:
        try:
            items = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if items is None:
            return
        try:
            results = list(handler(items))
            conn.send(("ok", results))
        except Exception as exc:  # noqa: BLE001 - one failed batch; the worker keeps serving
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class ProcessHandler:
    """``items -> results`` computed by ``build_handler(task, model, **options)`` in a child process.

    ``start()`` spawns it and waits until the model is loaded; a child that dies is restarted on the
    next call (that batch fails with :class:`WorkerError`). Calls are serialised (one batch at a time).
    """

    def __init__(self, task: str, model: Optional[str] = None, start_timeout_s: float = 600.0,
                 **options: Any) -> None:
        self.task, self.model, self.options = task, model, options
        self.start_timeout_s = start_timeout_s
        self.info: Dict[str, Any] = {}
        self._process = None
        self._conn = None
        self._lock = threading.Lock()

    def start(self) -> "ProcessHandler":
        ctx = mp.get_context("spawn")  # never fork a process that has loaded Paddle
        parent, child = ctx.Pipe()
        added = [k for k in MODEL_PROCESS_ENV if k not in os.environ]  # the caller's settings win
        os.environ.update({k: MODEL_PROCESS_ENV[k] for k in added})
        try:
            self._process = ctx.Process(target=_child_main, args=(child, self.task, self.model, self.options),
                                        name=f"roots-model-{self.task}", daemon=True)
            self._process.start()
        finally:
            for k in added:
                os.environ.pop(k, None)
        child.close()
        self._conn = parent
        if not parent.poll(self.start_timeout_s):
            self.close()
            raise WorkerError(f"the {self.task} model process did not start in {self.start_timeout_s:.0f} s")
        try:
            kind, payload = parent.recv()
        except EOFError:
            self.close()
            raise WorkerError(f"the {self.task} model process exited while loading "
                              f"(exit code {self._exitcode()})") from None
        if kind != "ready":
            self.close()
            raise WorkerError(f"could not build the {self.task} handler: {payload}")
        self.info = payload
        logger.info("model process %d ready: %s %s", self._process.pid, self.task, payload)
        return self

    def _exitcode(self):
        return None if self._process is None else self._process.exitcode

    def __call__(self, items: List[Any]) -> List[Any]:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                if self._process is not None:
                    logger.error("model process died (exit code %s); restarting", self._exitcode())
                    self.close()
                self.start()
            try:
                self._conn.send(list(items))
                kind, payload = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                code = self._process.exitcode if self._process is not None else None
                self.close()
                raise WorkerError(f"the model process died during a batch (exit code {code})") from None
        if kind != "ok":
            raise WorkerError(payload)
        return payload

    def calibrate(self, batch_size: int, text: str = WARMUP_TEXT, rounds: int = 2) -> float:
        """Items/s on full batches of ``text`` (after one warm-up batch); the admission estimate's start."""
        items = [text] * batch_size
        start = time.perf_counter()
        self(items)  # warm-up (first-call set-up); a slow model (generation) is timed on it alone
        first = time.perf_counter() - start
        if first > 2.0:
            return batch_size / first
        start = time.perf_counter()
        for _ in range(rounds):
            self(items)
        return rounds * batch_size / max(time.perf_counter() - start, 1e-6)

    def close(self, timeout: float = 10.0) -> None:
        """Ask the child to exit (after its current batch), then stop it."""
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            try:
                conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            conn.close()
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.terminate()
                process.join(5)
