"""Creates `Llama` objects with this CPU's run settings, and reports what llama.cpp sees of the CPU."""
from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext

from app.llm.run_settings import RunSettings, ladder

_PATCH_LOCK = threading.RLock()  # new_llama holds it for both patches


def default_settings() -> RunSettings:
    return ladder()[0]


def model_params(extra_buffers: bool):
    """llama-cpp-python's `Llama` takes no use_extra_bufts argument: the model defaults are swapped for one load."""
    return _defaults("llama_model_default_params", use_extra_bufts=extra_buffers)


def context_params(sequences: int):
    """Likewise for the context: room for `sequences` sequences in one cache of n_ctx cells (unified), so prompts
    that share a prefix can be evaluated side by side on its cells (ChatEngine.branch_logprobs)."""
    if sequences <= 1:
        return nullcontext()
    return _defaults("llama_context_default_params", n_seq_max=sequences, kv_unified=True)


@contextmanager
def _defaults(function: str, **fields):
    """`Llama` reads llama.cpp's default parameters once while loading; for the length of the block the named
    default function returns them with these fields set."""
    import llama_cpp.llama_cpp as native
    original = getattr(native, function)

    def params():
        found = original()
        for name, value in fields.items():
            setattr(found, name, value)
        return found
    with _PATCH_LOCK:
        setattr(native, function, params)
        try:
            yield
        finally:
            setattr(native, function, original)


def new_llama(path: str, settings: RunSettings | None, sequences: int = 1, **kwargs):
    from llama_cpp import Llama
    settings = settings or default_settings()
    with model_params(settings.extra_buffers), context_params(sequences):
        return Llama(model_path=path, n_threads=settings.threads, verbose=False, **kwargs)


def system_info() -> str:
    """llama.cpp's own line of CPU features it was built for and detected (AVX2 = 1 | AMX_INT8 = 1 ...)."""
    import llama_cpp
    return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
