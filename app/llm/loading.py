"""Creates `Llama` objects with this CPU's run settings, and reports what llama.cpp sees of the CPU."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from app.llm.run_settings import RunSettings, ladder

_PATCH_LOCK = threading.Lock()


def default_settings() -> RunSettings:
    return ladder()[0]


@contextmanager
def model_params(extra_buffers: bool):
    """llama-cpp-python's `Llama` takes no use_extra_bufts argument; it reads llama_model_default_params() once
    while loading, so the default is swapped for the length of one load."""
    import llama_cpp.llama_cpp as native
    original = native.llama_model_default_params

    def params():
        found = original()
        found.use_extra_bufts = extra_buffers
        return found
    with _PATCH_LOCK:
        native.llama_model_default_params = params
        try:
            yield
        finally:
            native.llama_model_default_params = original


def new_llama(path: str, settings: RunSettings | None, **kwargs):
    from llama_cpp import Llama
    settings = settings or default_settings()
    with model_params(settings.extra_buffers):
        return Llama(model_path=path, n_threads=settings.threads, verbose=False, **kwargs)


def system_info() -> str:
    """llama.cpp's own line of CPU features it was built for and detected (AVX2 = 1 | AMX_INT8 = 1 ...)."""
    import llama_cpp
    return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
