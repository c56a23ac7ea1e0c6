"""roots_zh: a Chinese NLP toolkit on PaddlePaddle."""
import re
from pathlib import Path

from setuptools import find_packages, setup

PADDLENLP_PINS = ["paddlenlp==2.8.1", "huggingface_hub==0.23.4", "datasets==2.19.2",
                  "aistudio-sdk==0.2.4", "pyarrow==16.1.0"]

OPENCC = ["opencc>=1.1"]  # traditional -> simplified normalisation
ONNX = ["paddle2onnx>=2.1", "onnxruntime>=1.17", "ml_dtypes"]  # ONNX export and INT8 (ml_dtypes: ORT quantizer)
SERVE = ["fastapi", "uvicorn", "uvloop; sys_platform != 'win32'", "httptools"]  # `roots-zh serve` (uvicorn picks uvloop + httptools up)
KNOWLEDGE = ["pyahocorasick"]  # entity linking automaton
METRICS = ["sacrebleu", "rouge-score", "scikit-learn", "nltk"]  # BLEU, ROUGE check, TF-IDF baseline, CMRC tokens
# offline peers for `tools/benchmark.py peers|accuracy` (sentiment, MSRA NER, SIGHAN CWS); skipped when absent
PEERS = ["snownlp>=0.12.3,<0.13", "thulac>=0.2.2,<0.3", "jiagu>=0.2.3,<0.3"]
# the one version: `__version__` in roots_zh/__init__.py, read as text (importing the package is not needed)
VERSION = re.search(r'^__version__ = "([^"]+)"', (Path(__file__).parent / "roots_zh" / "__init__.py")
                    .read_text(encoding="utf-8"), re.M).group(1)

setup(
    name="roots_zh",
    version=VERSION,
    description="ROOTS: Chinese NLP toolkit on PaddlePaddle (one pretrained model, many tasks)",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["roots_zh", "roots_zh.*"]),
    package_data={"roots_zh.utils": ["mkl_vendor_shim.c"]},  # compiled on first import on AMD CPUs
    python_requires=">=3.9",
    # paddlepaddle is an extra: GPU users install paddlepaddle-gpu themselves.
    install_requires=["numpy", "jieba", "sentencepiece", "tokenizers", "safetensors", "tqdm"],
    extras_require={
        "cpu": ["paddlepaddle>=3.3,<3.4"],
        "paddlenlp": PADDLENLP_PINS,
        "plot": ["matplotlib"],
        "pretrain": ["scikit-learn", "matplotlib"],  # embed-init (randomized SVD), loss curves
        # tools/pretrain_gpu.py on a CUDA machine (and its parity test here); not part of `test`:
        # the PyPI torch wheel pulls ~2.5 GB of CUDA libraries
        "pretrain-gpu": ["torch>=2.1", "safetensors"],
        "opencc": OPENCC,
        "onnx": ONNX,
        "serve": SERVE,
        "knowledge": KNOWLEDGE,
        "metrics": METRICS,
        "peers": PEERS,
        "test": ["pytest", "hypothesis", "matplotlib", "httpx"] + OPENCC + ONNX + SERVE + KNOWLEDGE + METRICS
                + PADDLENLP_PINS,
    },
    entry_points={"console_scripts": ["roots-zh=roots_zh.cli:main"]},
)
