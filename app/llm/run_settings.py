"""How llama.cpp runs a model on this CPU (extra weight buffers, threads), the safer steps to fall back to after
crashes, and what worked, remembered per model file and CPU in the data folder."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from app import paths
from app.llm.cpu import cpu_key, has_amx, has_avx512

SETTINGS_FILE = "model-settings.json"
CRASHES_BEFORE_SAFER = 2  # the first crash may be bad luck (out of memory); the second with the same settings is not
THREADS = 2


@dataclass(frozen=True)
class RunSettings:
    extra_buffers: bool  # llama.cpp's repacked / AMX weight buffers: the AMX path crashes, AVX-512 runs slower on them
    threads: int

    def describe(self) -> str:
        buffers = "repacked weight buffers" if self.extra_buffers else "plain weight buffers (no AMX/repack)"
        return f"{buffers}, {self.threads} thread{'s' if self.threads != 1 else ''}"


def ladder() -> list[RunSettings]:
    """Default first, then safer: no AMX/repack buffers, then one thread. On a CPU with AMX or AVX-512 the default
    already keeps the weights in plain buffers: llama.cpp's AMX path segfaults on the first evaluation (FACTS.md),
    and AVX-512 evaluates a prompt faster from plain buffers (1.5B, 500 tokens, 2 threads: 142 against 96 tokens/s
    on an AMD EPYC, 133 against 99 on an AMX Xeon; a pasted answer's verdict p50 2.46 -> 1.71 s on the EPYC).
    Repacked buffers stay the default on AVX2, where they were chosen."""
    threads = max(1, min(THREADS, os.cpu_count() or 1))
    plain = has_amx() or has_avx512()
    steps = [RunSettings(not plain, threads), RunSettings(False, threads), RunSettings(False, 1)]
    return list(dict.fromkeys(steps))


@dataclass
class Fallback:
    """What a crash changed: the settings to run next, whether they are safer than before, or none left."""
    settings: RunSettings | None
    safer: bool


class SettingsMemory:
    """Per model file and CPU: the step of the ladder in use and the crashes seen at it (a JSON file)."""

    def __init__(self, path: Path | None = None):
        self.path = path or paths.data_dir() / SETTINGS_FILE

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write(self, data: dict) -> None:
        try:
            self.path.write_text(json.dumps(data, indent=1), encoding="utf-8")
        except OSError:
            pass  # remembering is a convenience: the ladder starts again next time

    @staticmethod
    def key(model: Path) -> str:
        return f"{model.name} @ {cpu_key()}"

    def entry(self, model: Path) -> dict:
        return self._read().get(self.key(model), {"step": 0, "crashes": 0})

    def settings_for(self, model: Path) -> RunSettings | None:
        """The settings to run this model with; None once every step has crashed."""
        steps = ladder()
        step = int(self.entry(model).get("step", 0))
        return steps[step] if 0 <= step < len(steps) else None

    def record_crash(self, model: Path, reason: str) -> Fallback:
        data = self._read()
        entry = data.get(self.key(model), {"step": 0, "crashes": 0})
        entry["crashes"] = int(entry.get("crashes", 0)) + 1
        entry["last_crash"] = reason
        safer = entry["crashes"] >= CRASHES_BEFORE_SAFER
        if safer:
            entry["step"], entry["crashes"] = int(entry.get("step", 0)) + 1, 0
        data[self.key(model)] = entry
        self._write(data)
        return Fallback(self.settings_for(model), safer)

    def record_working(self, model: Path, settings: RunSettings) -> None:
        data = self._read()
        entry = data.get(self.key(model), {"step": 0})
        if entry.get("crashes") or entry.get("working") != asdict(settings):
            entry.update(crashes=0, working=asdict(settings))
            data[self.key(model)] = entry
            self._write(data)
