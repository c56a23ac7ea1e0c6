"""NER and extractive-QA recipes: now ``roots_zh.recipes`` (``run_spans``, ``holdout_split``); run them
with ``python tools/finetune.py --task cluener ...``. Kept so old imports work."""
from roots_zh.recipes import TRAINING_KEYS as TRAIN_KEYS, holdout_split, run_spans  # noqa: F401
