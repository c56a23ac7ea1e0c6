"""Service counters for ``/metrics``: requests by status, batches, queue depth, latency percentiles."""
from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any, Deque, Dict, Optional

import numpy as np


class Metrics:
    def __init__(self, window: int = 10000) -> None:
        self.started = time.time()
        self.status: Counter = Counter()
        self.batches = 0
        self.batched_items = 0
        self.queue_depth = 0  # requests queued or running
        self.queued_items = 0
        self.dropped = 0  # requests abandoned (timed out) before they reached the model
        self.items_per_s: Optional[float] = None  # admission's throughput estimate
        self.queue_limit_items: Optional[int] = None
        self.latencies_ms: Deque[float] = deque(maxlen=window)

    def record_response(self, status: int, latency_s: float) -> None:
        self.status[status] += 1
        if status == 200:
            self.latencies_ms.append(latency_s * 1000.0)

    def record_batch(self, size: int) -> None:
        self.batches += 1
        self.batched_items += size

    def snapshot(self) -> Dict[str, Any]:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else None
        return {
            "uptime_s": round(time.time() - self.started, 1),
            "requests_total": int(sum(self.status.values())),
            "responses_by_status": {str(k): v for k, v in sorted(self.status.items())},
            "batches_total": self.batches,
            "batched_items_total": self.batched_items,
            "mean_batch_size": round(self.batched_items / self.batches, 2) if self.batches else 0.0,
            "queue_depth": self.queue_depth,
            "queued_items": self.queued_items,
            "dropped_before_model": self.dropped,
            "items_per_s_estimate": round(self.items_per_s, 1) if self.items_per_s else None,
            "queue_limit_items": self.queue_limit_items,
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 2) if lat is not None else None,
            "latency_ms_p99": round(float(np.percentile(lat, 99)), 2) if lat is not None else None,
        }
