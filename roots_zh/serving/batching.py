"""Dynamic batching: requests that arrive within a short window run as one model batch.

Admission is bounded (``QueueFull`` -> HTTP 429 with ``retry_after``): by ``max_queue`` requests and
by what :class:`~roots_zh.serving.admission.Admission` says the model can answer in time. The queue
closes for shutdown (``Closed`` -> 503) after the requests already queued have been answered.
Requests whose caller gave up (timed out) are dropped before they reach the model.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .admission import Admission
from .metrics import Metrics

logger = logging.getLogger(__name__)

Handler = Callable[[List[Any]], Sequence[Any]]  # items -> one result per item, same order


class QueueFull(Exception):
    """The model cannot take this request in time; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Closed(Exception):
    """The batcher is shutting down and takes no new requests."""


class DynamicBatcher:
    """Merge queued requests (each a list of items) into batches of up to ``max_batch_size`` items,
    waiting at most ``max_wait_ms`` for more after the first; the handler runs in one worker thread
    (with :class:`~roots_zh.serving.worker.ProcessHandler` that thread only waits on a pipe).

    ``open_connections``: a callable counting the server's open HTTP connections. An HTTP/1.1 client
    has one request in flight per connection, so once every open connection has a request queued no
    more can come: the batch goes at once instead of waiting out ``max_wait_ms``."""

    def __init__(self, handler: Handler, max_batch_size: int = 32, max_wait_ms: float = 5.0,
                 max_queue: int = 256, metrics: Optional[Metrics] = None,
                 admission: Optional[Admission] = None,
                 open_connections: Optional[Callable[[], int]] = None) -> None:
        self.handler = handler
        self.open_connections = open_connections
        self.max_batch_size, self.max_wait = max_batch_size, max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.metrics = metrics or Metrics()
        self.admission = admission or Admission(float("inf"), max_batch_size, max_queue)
        self.pending = 0  # requests queued or running
        self.pending_items = 0
        self.closing = False
        self._queue: Optional[asyncio.Queue] = None
        self._task: Optional[asyncio.Task] = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roots-batch")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop())

    def retry_after(self) -> int:
        return self.admission.retry_after(self.pending_items)

    def submit(self, items: List[Any]) -> "asyncio.Future":
        """Queue one request; its future resolves to the list of results for ``items``."""
        if self.closing or self._queue is None:
            raise Closed("the server is shutting down")
        reason = self.admission.refuse(self.pending_items, self.pending, len(items))
        if reason:
            raise QueueFull(reason, self.retry_after())
        future = asyncio.get_running_loop().create_future()
        self.pending += 1
        self.pending_items += len(items)
        self._queue.put_nowait((items, future))
        self._publish()
        return future

    def _publish(self) -> None:
        self.metrics.queue_depth = self.pending
        self.metrics.queued_items = self.pending_items
        self.metrics.items_per_s = self.admission.items_per_s
        self.metrics.queue_limit_items = self.admission.queue_limit()

    def _release(self, items: List[Any]) -> None:
        self.pending -= 1
        self.pending_items -= len(items)

    async def _get_live(self, timeout: Optional[float] = None):
        """The next queued request whose caller still waits (abandoned ones are released)."""
        while True:
            if timeout is None:
                entry = await self._queue.get()
            else:
                entry = await asyncio.wait_for(self._queue.get(), timeout)
            if not entry[1].done():
                return entry
            self._release(entry[0])
            self.metrics.dropped += 1

    async def _collect(self) -> List[Tuple[List[Any], "asyncio.Future"]]:
        loop = asyncio.get_running_loop()
        batch = [await self._get_live()]
        size, deadline = len(batch[0][0]), loop.time() + self.max_wait
        while size < self.max_batch_size:
            if not self._queue.empty():  # already waiting: take it without a timer
                entry = self._queue.get_nowait()
                if entry[1].done():
                    self._release(entry[0])
                    self.metrics.dropped += 1
                    continue
            elif self._everyone_waits():  # no connection can send more
                break
            else:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    entry = await self._get_live(timeout)
                except asyncio.TimeoutError:
                    break
            batch.append(entry)
            size += len(entry[0])
        return batch

    def _everyone_waits(self) -> bool:
        """Every open connection has a request queued (so none can add to this batch)."""
        return self.open_connections is not None and self.pending >= self.open_connections()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            flat = [x for items, _ in batch for x in items]
            start = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self.handler, flat)
                if len(results) != len(flat):
                    raise RuntimeError(f"handler returned {len(results)} results for {len(flat)} items")
            except Exception as exc:  # noqa: BLE001 - delivered to every waiting request
                logger.error("batch of %d items failed: %s: %s", len(flat), type(exc).__name__, exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                self.admission.record(len(flat), time.perf_counter() - start)
                offset = 0
                for items, future in batch:
                    if not future.done():  # a request that timed out was cancelled
                        future.set_result(list(results[offset:offset + len(items)]))
                    offset += len(items)
            for items, _ in batch:
                self._release(items)
            self.metrics.record_batch(len(flat))
            self._publish()

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop taking requests, answer those queued (up to ``timeout`` s), then stop the worker."""
        self.closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
        self._executor.shutdown(wait=False)
