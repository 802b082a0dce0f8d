"""llama-cpp-python's OpenAI-compatible server, run with this CPU's settings. On a CPU with Intel AMX, llama.cpp's AMX
weight buffers segfault on the first prompt of more than a few tokens (FACTS.md), and `python -m llama_cpp.server`
has no option to turn them off; this runs the same server with the weights in plain buffers there.

    python -m app.llm.serve --model models/FILE.gguf --host 127.0.0.1 --port 8000 --n_ctx 4096

Every argument is llama_cpp.server's own (`--help` lists them)."""
from __future__ import annotations

import runpy
import sys

from app.llm.loading import default_settings, model_params


def main() -> None:
    try:
        import fastapi, uvicorn, sse_starlette  # noqa: F401, E401 - the server's own dependencies
    except ImportError as missing:
        sys.exit(f"llama-cpp-python's server is not installed ({missing.name} is missing): "
                 "pip install 'llama-cpp-python[server]==0.3.36'")
    settings = default_settings()
    print(f"Serving with {settings.describe()}.", file=sys.stderr, flush=True)
    with model_params(settings.extra_buffers):  # the server loads its model inside; the process ends with it
        sys.argv[0] = "llama_cpp.server"
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
