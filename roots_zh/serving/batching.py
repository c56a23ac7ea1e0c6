"""Dynamic batching: requests that arrive within a short window run as one model batch.

The queue is bounded (``QueueFull`` -> HTTP 429) and closes for shutdown (``Closed`` -> 503) after
the requests already queued have been answered.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .metrics import Metrics

logger = logging.getLogger(__name__)

Handler = Callable[[List[Any]], Sequence[Any]]  # items -> one result per item, same order


class QueueFull(Exception):
    """The bounded request queue is full."""


class Closed(Exception):
    """The batcher is shutting down and takes no new requests."""


class DynamicBatcher:
    """Merge queued requests (each a list of items) into batches of up to ``max_batch_size`` items,
    waiting at most ``max_wait_ms`` for more after the first; the handler runs in one worker thread."""

    def __init__(self, handler: Handler, max_batch_size: int = 32, max_wait_ms: float = 5.0,
                 max_queue: int = 256, metrics: Optional[Metrics] = None) -> None:
        self.handler = handler
        self.max_batch_size, self.max_wait = max_batch_size, max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.metrics = metrics or Metrics()
        self.pending = 0  # requests queued or running
        self.closing = False
        self._queue: Optional[asyncio.Queue] = None
        self._task: Optional[asyncio.Task] = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roots-batch")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop())

    def submit(self, items: List[Any]) -> "asyncio.Future":
        """Queue one request; its future resolves to the list of results for ``items``."""
        if self.closing or self._queue is None:
            raise Closed("the server is shutting down")
        if self.pending >= self.max_queue:
            raise QueueFull(f"{self.pending} requests queued (max_queue={self.max_queue})")
        future = asyncio.get_running_loop().create_future()
        self.pending += 1
        self._queue.put_nowait((items, future))
        self.metrics.queue_depth = self.pending
        return future

    async def _collect(self) -> List[Tuple[List[Any], "asyncio.Future"]]:
        loop = asyncio.get_running_loop()
        batch = [await self._queue.get()]
        size, deadline = len(batch[0][0]), loop.time() + self.max_wait
        while size < self.max_batch_size:
            timeout = deadline - loop.time()
            if timeout <= 0:
                break
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout)
            except asyncio.TimeoutError:
                break
            batch.append(item)
            size += len(item[0])
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            flat = [x for items, _ in batch for x in items]
            try:
                results = await loop.run_in_executor(self._executor, self.handler, flat)
                if len(results) != len(flat):
                    raise RuntimeError(f"handler returned {len(results)} results for {len(flat)} items")
            except Exception as exc:  # noqa: BLE001 - delivered to every waiting request
                logger.exception("batch of %d items failed", len(flat))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                start = 0
                for items, future in batch:
                    if not future.done():  # a request that timed out was cancelled
                        future.set_result(list(results[start:start + len(items)]))
                    start += len(items)
            self.pending -= len(batch)
            self.metrics.record_batch(len(flat))
            self.metrics.queue_depth = self.pending

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
