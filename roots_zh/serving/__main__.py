"""``python -m roots_zh.serving --task text_classification --model DIR --port 8000``."""
import sys

from .cli import main

sys.exit(main())
