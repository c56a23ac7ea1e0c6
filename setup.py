"""roots_zh: a Chinese NLP toolkit on PaddlePaddle."""
from pathlib import Path

from setuptools import find_packages, setup

PADDLENLP_PINS = ["paddlenlp==2.8.1", "huggingface_hub==0.23.4", "datasets==2.19.2",
                  "aistudio-sdk==0.2.4", "pyarrow==16.1.0"]

setup(
    name="roots_zh",
    version="0.1.0",
    description="ROOTS: Chinese NLP toolkit on PaddlePaddle (one pretrained model, many tasks)",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["roots_zh", "roots_zh.*"]),
    python_requires=">=3.9",
    # paddlepaddle is an extra: GPU users install paddlepaddle-gpu themselves.
    install_requires=["numpy", "jieba", "sentencepiece", "tokenizers", "safetensors", "tqdm"],
    extras_require={
        "cpu": ["paddlepaddle>=3.3,<3.4"],
        "paddlenlp": PADDLENLP_PINS,
        "plot": ["matplotlib"],
        "test": ["pytest", "hypothesis", "matplotlib"] + PADDLENLP_PINS,
    },
    entry_points={"console_scripts": ["roots-zh=roots_zh.cli:main"]},
)
