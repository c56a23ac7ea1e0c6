"""Every recipe under tasks/ names its kind one way (``"kind"``), and the runner rejects anything else."""
import json
from pathlib import Path

import pytest

from roots_zh.recipes import RECIPE_FILES, RECIPE_KINDS, TASKS_DIR, load_recipe, recipe_kind


def test_every_recipe_has_a_valid_kind():
    tasks = [p.parent.name for p in TASKS_DIR.glob("*/recipe.json")] + list(RECIPE_FILES)
    assert len(tasks) >= 12
    for task in tasks:
        recipe = load_recipe(task)
        assert recipe_kind(recipe) in RECIPE_KINDS and "pipeline" not in recipe, task
    with pytest.raises(ValueError, match="kind"):
        recipe_kind({"pipeline": "summarizer"})
    assert json.loads(Path(TASKS_DIR / "translation" / "recipe.json").read_text())["kind"] == "translation"
