"""What this CPU is: its model name and the instruction-set flags that decide how llama.cpp may run on it."""
from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# the flags that change which llama.cpp kernels run; AMX is the one with a known crash (FACTS.md, ggml issue 20824)
FEATURES = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni",
            "amx_tile", "amx_int8", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@lru_cache(maxsize=1)
def cpu_name() -> str:
    try:
        for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def has_amx() -> bool:
    return any(flag.startswith("amx") for flag in cpu_flags())


def has_avx512() -> bool:
    return "avx512f" in cpu_flags()


def features() -> list[str]:
    """The llama.cpp-relevant instruction sets this CPU reports, in a fixed order."""
    flags = cpu_flags()
    return [f for f in FEATURES if f in flags]


def cpu_key() -> str:
    """Names this kind of CPU: settings that work on one machine are remembered for machines with the same key."""
    digest = hashlib.sha256(" ".join(features()).encode()).hexdigest()[:8]
    return f"{cpu_name()} [{digest}]"
