"""Atomic training checkpoints: model + optimizer + step in one directory, swapped in by rename."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

import paddle

from ..utils.files import atomic_write_text

STATE_FILE = "trainer_state.json"


def save_checkpoint(directory: Path, model, optimizer, state: Dict[str, Any]) -> Path:
    """Write ``directory`` atomically: a complete temp dir is renamed over the old one."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    paddle.save(model.state_dict(), str(tmp / "model.pdparams"))
    paddle.save(optimizer.state_dict(), str(tmp / "optimizer.pdopt"))
    atomic_write_text(tmp / STATE_FILE, json.dumps(state, indent=2))
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(directory, old)
    os.replace(tmp, directory)
    if old.exists():
        shutil.rmtree(old)
    return directory


def load_checkpoint(directory: Path, model, optimizer=None) -> Optional[Dict[str, Any]]:
    """Restore model (and optimizer) from ``directory``; returns its state or ``None`` if absent.

    Falls back to ``<dir>.old`` when a crash hit between the two renames."""
    directory = Path(directory)
    if not (directory / STATE_FILE).is_file():
        old = directory.with_name(directory.name + ".old")
        if (old / STATE_FILE).is_file():
            directory = old
        else:
            return None
    try:
        model.set_state_dict(paddle.load(str(directory / "model.pdparams")))
        if optimizer is not None:
            optimizer.set_state_dict(paddle.load(str(directory / "optimizer.pdopt")))
        return json.loads((directory / STATE_FILE).read_text())
    except Exception as err:
        raise ValueError(f"checkpoint {directory} is unreadable ({type(err).__name__}: {err}); "
                         "delete it to start over") from err
