"""``python -m roots_zh.serving --task text_classification --model DIR --port 8000``."""
import sys

from .cli import main

if __name__ == "__main__":  # the spawned model process imports this module too
    sys.exit(main())
