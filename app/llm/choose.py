"""Which chat model to load: the user's saved choice, else the default model, else any GGUF present."""
from __future__ import annotations

from pathlib import Path

from app.llm.catalog import DEFAULT_MODEL, MODELS
from app.llm.files import list_models


def resolve_model(models_dir: Path, chosen: str | None) -> tuple[Path | None, str]:
    """(path or None, a plain-words reason when there is none)."""
    if chosen:
        path = Path(chosen)
        if path.is_file():
            return path, ""
        return None, f"The chosen model {chosen} no longer exists. Pick another one in Settings > Model."
    default = models_dir / MODELS[DEFAULT_MODEL].filename
    if default.is_file():
        return default, ""
    available = list_models(models_dir)
    if available:
        return available[0].path, ""
    return None, (f"No grading model found in {models_dir}. Run `python -m app setup-models` or put a .gguf file "
                  "there. Until then answers are graded from the rubric only.")
