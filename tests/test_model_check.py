"""'Check this model': the held-out answers graded by one model, on the command line (a 10-case file) and in the GUI
(progress, cancel, the stored result shown in the model list beside the default model's)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import paths
from app.core.metrics import split_of
from app.llm.catalog import DEFAULT_MODEL, MODELS
from app.model_check import (
    CHECKS,
    FIGURES,
    answer_files,
    held_out_cases,
    stored_results,
)
from app.storage.userdb import get_setting, open_user_db, set_setting

REPO = Path(__file__).resolve().parent.parent
SMOL_SHA = MODELS["smollm2-135m"].sha256


@pytest.fixture
def ten_cases(tmp_path: Path) -> Path:
    """Ten labelled answers of the held-out test split, as a case file."""
    rows = []
    for path in answer_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if line.strip() and split_of(str(row["question"])) == "test" and len(rows) < 10:
                rows.append(line)
    target = tmp_path / "ten.jsonl"
    target.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return target


def test_the_test_split_is_held_out(library) -> None:
    cases = held_out_cases(library.by_id)
    assert cases and all(split_of(c["question"].id) == "test" for c in cases)


def test_check_model_on_the_command_line_stores_its_figures(ten_cases, smol_path, bank_in_data_dir) -> None:
    done = subprocess.run([sys.executable, "-m", "app", "check-model", "--model", str(smol_path), "--cases",
                           str(ten_cases), "--json"], cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cases"] == 10 and report["model"] == f"sha256:{SMOL_SHA}" and report["path"] == "local model"
    assert all(isinstance(report[k], float) for k in FIGURES)
    stored = get_setting(open_user_db(paths.user_db_path()), CHECKS)
    assert stored[f"sha256:{SMOL_SHA}"]["verdict_accuracy"] == report["verdict_accuracy"]


def test_check_model_refuses_a_server_that_does_not_answer(ten_cases, bank_in_data_dir) -> None:
    from server_fixtures import free_port
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([sys.executable, "-m", "app", "check-model", "--server", url, "--server-model", "m",
                           "--cases", str(ten_cases)], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 2 and url in done.stderr and "refused the connection" in done.stderr
    assert "Nothing was graded" in done.stderr and "Traceback" not in done.stderr


def test_the_check_window_shows_progress_can_cancel_and_stores_the_result(qtbot, library, db, smol_path,
                                                                          ten_cases, models_dir) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialogButtonBox

    from app.evaluation import read_cases
    from app.ui.model_check_view import ModelCheckDialog
    from app.ui.model_dialog import ModelDialog
    cases = read_cases([ten_cases], library.by_id)
    default_key = f"sha256:{MODELS[DEFAULT_MODEL].sha256}"
    figures = {k: 0.5 for k in FIGURES} | {"cases": 200, "grader": "qwen", "path": "local model", "checked_at": 0}
    set_setting(db, CHECKS, {default_key: figures})  # the default model was checked before
    cancelled = ModelCheckDialog(library, db, "file", smol_path, cases=cases)
    qtbot.addWidget(cancelled)
    qtbot.waitUntil(lambda: cancelled.bar.value() >= 1, timeout=120_000)
    qtbot.mouseClick(cancelled.buttons.button(QDialogButtonBox.Cancel), Qt.LeftButton)
    qtbot.waitUntil(lambda: not cancelled.running, timeout=60_000)
    qtbot.waitUntil(lambda: "Cancelled" in cancelled.result.text(), timeout=10_000)
    assert f"sha256:{SMOL_SHA}" not in stored_results(db) and cancelled.bar.value() < len(cases)
    check = ModelCheckDialog(library, db, "file", smol_path, cases=cases)
    qtbot.addWidget(check)
    with qtbot.waitSignal(check.stored, timeout=300_000):
        pass
    assert check.bar.value() == len(cases) and check.report["cases"] == len(cases)
    assert "default model" in check.result.text() and "choice_accuracy" in check.result.text()
    stored = stored_results(db)[f"sha256:{SMOL_SHA}"]
    assert stored["choice_accuracy"] == check.report["choice_accuracy"]
    dialog = ModelDialog(models_dir, str(smol_path), checks=stored_results(db), shas={str(smol_path): SMOL_SHA})
    qtbot.addWidget(dialog)
    label = dialog.list.currentItem().text()
    assert f"choice {stored['choice_accuracy']:.2f}" in label and "GB of memory" in label and "per verdict" in label
    assert "choice 0.50" in dialog.default_line.text()  # the default model's figures beside it
