"""Admission control: admit a request only if it can be answered within its timeout.

The model's throughput (items/s on full batches) is calibrated at start-up and then followed with
an exponential moving average of the batches that ran. The queue may hold at most
``throughput x request_timeout_s x headroom`` items (and ``max_queue`` requests); past that a
request is refused at once (HTTP 429) with a ``Retry-After`` of the time the backlog needs to drain,
instead of waiting past its timeout.
"""
from __future__ import annotations

import math
from typing import Optional


class Admission:
    """Throughput estimate + queue limit derived from it."""

    def __init__(self, request_timeout_s: float, max_batch_size: int, max_queue: int,
                 headroom: float = 0.7, alpha: float = 0.2) -> None:
        if not 0 < headroom <= 1:
            raise ValueError(f"`headroom` must be in (0, 1], got {headroom!r}")
        self.request_timeout_s = request_timeout_s
        self.max_batch_size = max_batch_size
        self.max_queue = max_queue
        self.headroom, self.alpha = headroom, alpha
        self.items_per_s: Optional[float] = None  # unknown until calibrated or a batch has run

    def calibrate(self, items_per_s: float) -> None:
        if not items_per_s > 0:
            raise ValueError(f"`items_per_s` must be > 0, got {items_per_s!r}")
        self.items_per_s = float(items_per_s)

    def record(self, items: int, seconds: float) -> None:
        """A batch of ``items`` took ``seconds``; batches under half full say little about capacity."""
        if seconds <= 0 or (self.items_per_s is not None and items * 2 < self.max_batch_size):
            return
        rate = items / seconds
        self.items_per_s = rate if self.items_per_s is None else (1 - self.alpha) * self.items_per_s + self.alpha * rate

    def queue_limit(self) -> Optional[int]:
        """Items that may wait (queued or running) so the last still meets the timeout; None: unknown."""
        if self.items_per_s is None:
            return None
        return max(self.max_batch_size, int(self.items_per_s * self.request_timeout_s * self.headroom))

    def refuse(self, queued_items: int, queued_requests: int, new_items: int) -> Optional[str]:
        """Why a request of ``new_items`` must be refused now, or None to admit it."""
        if queued_requests >= self.max_queue:
            return f"{queued_requests} requests queued (max_queue={self.max_queue})"
        limit = self.queue_limit()
        if limit is not None and queued_items + new_items > limit:
            return (f"{queued_items} items queued; at {self.items_per_s:.0f} items/s more would not be answered "
                    f"within request_timeout_s={self.request_timeout_s:g}")
        return None

    def retry_after(self, queued_items: int) -> int:
        """Whole seconds until the current backlog has drained (at least 1)."""
        if not self.items_per_s:
            return 1
        return max(1, min(math.ceil(queued_items / self.items_per_s), math.ceil(self.request_timeout_s)))
