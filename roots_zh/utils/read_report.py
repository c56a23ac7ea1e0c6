"""`ReadReport`: what a data reader read and what it skipped (a count and the first few reasons)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import List

logger = logging.getLogger(__name__)


@dataclass
class ReadReport:
    """Readers never crash on a bad record: they skip it, count it and keep the first reasons."""

    path: str
    read: int = 0
    skipped: int = 0
    duplicates: int = 0
    first_errors: List[str] = field(default_factory=list)

    def skip(self, line_no: int, why: str) -> None:
        self.skipped += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"line {line_no}: {why}")

    def log(self) -> None:
        if self.skipped:
            logger.warning("%s: skipped %d malformed records, e.g. %s", self.path, self.skipped,
                           "; ".join(self.first_errors))
