"""Settings > Grading model: a local GGUF (in models/ or elsewhere) or a model server (OpenAI-compatible URL, a
model it lists, an optional API key); each with the figures of its last "Check this model" beside the default's."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from app.llm.catalog import DEFAULT_MODEL, MODELS
from app.llm.files import list_models
from app.llm.server_client import (
    DEFAULT_TIMEOUT_S,
    ServerClient,
    ServerError,
    ServerSettings,
    check_url,
)

ROLE = 256
MEMORY_OVERHEAD = 1.15  # weights plus the 4096-token KV cache and buffers: about this times the file (measured on 1.5B)


class _Relay(QObject):
    """Brings a worker thread's result to the GUI thread."""
    done = Signal(object)


def check_summary(result: dict | None) -> str:
    if not result:
        return "not checked yet"
    return (f"choice {result['choice_accuracy']:.2f}, verdict {result['verdict_accuracy']:.2f}, QWK "
            f"{result['qwk']:.2f}, key points F1 {result['key_point_f1']:.2f}, p50 {result['latency_p50_s']:.1f} s")


class ModelDialog(QDialog):
    check_requested = Signal(object)  # ("file", path) or ("server", ServerSettings): the window runs the check

    def __init__(self, models_dir: Path, current: str | None, parent=None, server: dict | None = None,
                 use_server: bool = False, api_key: str = "", checks: dict | None = None, shas: dict | None = None):
        super().__init__(parent)
        self.setWindowTitle("Grading model")
        self.chosen: str | None = current
        self.checks, self.shas = checks or {}, shas or {}
        server = server or {}
        self.local_choice = QRadioButton("Local file (offline; the default)")
        self.server_choice = QRadioButton("Model server (llama-server, Ollama, vLLM: an OpenAI-compatible API)")
        (self.server_choice if use_server else self.local_choice).setChecked(True)
        self.list = QListWidget()
        for model in list_models(models_dir):
            item = QListWidgetItem(self._label(model.path, model.label))
            item.setData(ROLE, str(model.path))
            self.list.addItem(item)
            if current and Path(current) == model.path:
                self.list.setCurrentItem(item)
        self.default_line = QLabel(self._default_line())
        self.default_line.setWordWrap(True)
        browse = QPushButton("Use a .gguf file from elsewhere...")
        browse.clicked.connect(self._browse)
        self.check_file = QPushButton("Check this model")
        self.check_file.setToolTip("Grade the held-out test answers with the selected file and show how far to trust it")
        self.check_file.clicked.connect(self._check_file)
        local_box = QGroupBox()
        local_layout = QVBoxLayout(local_box)
        local_layout.addWidget(QLabel(f"Models in {models_dir} (drop any .gguf there to add one):"))
        local_layout.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(browse)
        row.addStretch(1)
        row.addWidget(self.check_file)
        local_layout.addLayout(row)
        self.url = QLineEdit(server.get("url", ""))
        self.url.setPlaceholderText("http://127.0.0.1:8080")
        self.model = QComboBox()
        self.model.setEditable(True)
        if server.get("model"):
            self.model.addItem(server["model"])
        self.key = QLineEdit(api_key)
        self.key.setEchoMode(QLineEdit.Password)
        self.key.setPlaceholderText("optional; kept in the system keyring or a private file, never in your data")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1, 600)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(float(server.get("timeout_s", DEFAULT_TIMEOUT_S)))
        self.list_models = QPushButton("List models")
        self.list_models.clicked.connect(self.fetch_models)
        self.check_server = QPushButton("Check this model")
        self.check_server.clicked.connect(self._check_server)
        self.server_status = QLabel()
        self.server_status.setWordWrap(True)
        server_box = QGroupBox()
        form = QFormLayout(server_box)
        form.addRow("Base URL", self.url)
        models_row = QHBoxLayout()
        models_row.addWidget(self.model, 1)
        models_row.addWidget(self.list_models)
        form.addRow("Model", models_row)
        form.addRow("API key", self.key)
        form.addRow("Timeout", self.timeout)
        form.addRow(self.check_server)
        form.addRow(self.server_status)
        self.model.currentTextChanged.connect(lambda _: self._show_server_check())
        self.url.textChanged.connect(lambda _: self._show_server_check())
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.local_choice)
        layout.addWidget(local_box)
        layout.addWidget(self.server_choice)
        layout.addWidget(server_box)
        layout.addWidget(self.default_line)
        layout.addWidget(buttons)
        self.local_choice.toggled.connect(lambda on: (local_box.setEnabled(on), server_box.setEnabled(not on)))
        local_box.setEnabled(not use_server)
        server_box.setEnabled(use_server)
        self._relay = _Relay()
        self._relay.done.connect(self._models_listed)
        self._show_server_check()

    # -- the list of files, with their figures -------------------------------------------------------------------
    def _label(self, path: Path, label: str) -> str:
        size = path.stat().st_size if path.exists() else 0
        result = self.checks.get(f"sha256:{self.shas.get(str(path), '')}")
        speed = f"; {result['latency_p50_s']:.1f} s per verdict here" if result else ""
        return (f"{label}, needs about {size * MEMORY_OVERHEAD / 1e9:.1f} GB of memory{speed}\n"
                f"    checked: {check_summary(result)}")

    def _default_line(self) -> str:
        default = MODELS[DEFAULT_MODEL]
        return f"Default model ({default.filename}): {check_summary(self.checks.get(f'sha256:{default.sha256}'))}"

    def refresh_checks(self, checks: dict) -> None:
        self.checks = checks
        for index in range(self.list.count()):
            item = self.list.item(index)
            path = Path(item.data(ROLE))
            item.setText(self._label(path, item.text().split(", needs about")[0]))
        self.default_line.setText(self._default_line())
        self._show_server_check()

    # -- server --------------------------------------------------------------------------------------------------
    def server_settings(self) -> ServerSettings:
        return ServerSettings(self.url.text().strip(), self.model.currentText().strip(), self.key.text(),
                              self.timeout.value())

    def _show_server_check(self) -> None:
        settings = self.server_settings()
        if check_url(settings.base_url) is None and settings.model:
            key = f"server:{settings.shown_url}#{settings.model}"
            self.server_status.setText(f"{settings.model}: {check_summary(self.checks.get(key))}")

    def fetch_models(self) -> None:
        """GET /v1/models on a worker thread: the dialog stays responsive while the server answers (or not)."""
        settings = self.server_settings()
        problem = check_url(settings.base_url)
        if problem:
            self.server_status.setText(problem)
            return
        self.list_models.setEnabled(False)
        self.server_status.setText(f"Asking {settings.shown_url} for its models...")

        def ask() -> None:
            try:
                found: object = ServerClient(settings).models()
            except ServerError as exc:
                found = exc
            self._relay.done.emit(found)
        threading.Thread(target=ask, name="list-models", daemon=True).start()

    def _models_listed(self, found) -> None:
        self.list_models.setEnabled(True)
        if isinstance(found, ServerError):
            self.server_status.setText(str(found))
            return
        current = self.model.currentText()
        self.model.clear()
        self.model.addItems(found)
        if current in found:
            self.model.setCurrentText(current)
        self.server_status.setText(f"{len(found)} model(s) listed." if found else "The server lists no models.")

    # -- actions -------------------------------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", "", "GGUF models (*.gguf)")
        if path:
            item = QListWidgetItem(self._label(Path(path), Path(path).name + " (external)"))
            item.setData(ROLE, path)
            self.list.addItem(item)
            self.list.setCurrentItem(item)

    def _check_file(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.check_requested.emit(("file", Path(item.data(ROLE))))

    def _check_server(self) -> None:
        settings = self.server_settings()
        problem = check_url(settings.base_url) or ("" if settings.model else "choose a model first")
        if problem:
            self.server_status.setText(problem)
            return
        self.check_requested.emit(("server", settings))

    @property
    def source(self) -> str:
        return "server" if self.server_choice.isChecked() else "local"

    def _accept(self) -> None:
        if self.source == "server":
            settings = self.server_settings()
            problem = check_url(settings.base_url) or ("" if settings.model else "Choose or type a model name.")
            if problem:
                self.server_status.setText(problem)
                return
        item = self.list.currentItem()
        if item is not None:
            self.chosen = item.data(ROLE)
        self.accept()
