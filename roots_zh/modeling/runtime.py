"""`eval_no_grad`: run a model in eval mode without gradients, restoring its training flag after."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import paddle


@contextmanager
def eval_no_grad(model) -> Iterator[object]:
    was_training = model.training
    model.eval()
    try:
        with paddle.no_grad():
            yield model
    finally:
        if was_training:
            model.train()
