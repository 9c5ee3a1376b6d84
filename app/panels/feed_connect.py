"""File → Connect feed…: an MQTT broker or a SensorThings service, connected to
the running simulation from the window (issue 14).

The dialog builds the same ``[[feeds]]`` table a scene file would hold and goes
through :func:`twin.sim.feeds.make_feed`, so the window, the scene file and
``citytwin ingest`` validate and connect alike. The password (or auth header
value) never enters that table: it is handed to the feed directly and, when
"Remember" is ticked, saved by :mod:`twin.sim.secrets` (OS keyring, else the
private fallback file), where a reopened project finds it again.

OK keeps the dialog open until the feed has connected (then it closes) or has
failed: a refused login, an untrusted certificate or a closed port is shown as
one line in the dialog, and nothing is added, so the user can correct it.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.i18n import tr

#: how long OK waits for the first connection before closing anyway (the feed
#: keeps retrying; the health dock shows it)
CONNECT_WAIT_S = 12.0


def parse_mapping(text: str) -> dict[str, str]:
    """Lines ``key = sensor id`` (or just ``key``: the id from the topic or the
    payload); no comment syntax, since ``#`` is a topic wildcard."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        key, _, sensor = line.partition("=")
        if key.strip():
            out[key.strip()] = sensor.strip()
    return out


def error_headline(code: str, kind: str = "mqtt") -> str:
    """The translated first line for a feed's ``error_code``."""
    if code == "auth" and kind == "sensorthings":
        return tr("The server refused access: check the auth header and its value.")
    return {
        "auth": tr("The broker refused the login: check the user name and password."),
        "tls_untrusted": tr("The server's certificate is not trusted: check the CA file."),
        "tls": tr("The TLS handshake failed: is TLS switched on at this port?"),
        "refused": tr("Nothing answers at this host and port."),
        "closed": tr("The server closed the connection before the login: check the port and "
                     "the TLS setting."),
        "unreachable": tr("The server cannot be reached."),
        "config": tr("A certificate file cannot be used."),
        "http": tr("The server answered with an error."),
        "bad_data": tr("The server's answer is not SensorThings data."),
    }.get(code, tr("The feed could not connect."))


def _file_row(edit: QLineEdit, title: str, parent: QWidget) -> QWidget:
    row = QWidget(parent)
    row.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    browse = QPushButton(tr("Browse…"), row)

    def pick() -> None:
        path, _ = QFileDialog.getOpenFileName(parent, title, edit.text(),
                                              tr("Certificates (*.pem *.crt *.key);;All files (*)"))
        if path:
            edit.setText(path)

    browse.clicked.connect(pick)
    lay.addWidget(browse)
    return row


class FeedConnectDialog(QDialog):
    """The fields of an MQTT or SensorThings feed; :meth:`table` reads them."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.main_window = window
        self.feed = None  # the feed being connected
        self._deadline = 0.0
        self.setWindowTitle(tr("Connect feed"))
        self.setMinimumWidth(520)
        outer = QVBoxLayout(self)
        names = QFormLayout()
        self.name = QLineEdit(self._free_name("live feed"))
        names.addRow(tr("Name"), self.name)
        outer.addLayout(names)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._mqtt_tab(), "MQTT")
        self.tabs.addTab(self._sta_tab(), "SensorThings")
        outer.addWidget(self.tabs)
        from twin.sim import secrets

        where = secrets.backend_name()
        self.where = QLabel(tr("Passwords are remembered in the OS keyring.") if where == "keyring"
                            else tr("No OS keyring: passwords are remembered in {0} "
                                    "(readable only by you).").replace(
                                        "{0}", str(secrets.secrets_path())))
        self.where.setWordWrap(True)
        outer.addWidget(self.where)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("feed_connect_status")
        outer.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Connect"))
        self.buttons.accepted.connect(self.connect_feed)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._watch)
        if window.sim is None:
            self._show_error(tr("This scene has no sensors: open a scene with sensors first."))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)

    # -- the two forms ---------------------------------------------------------------------
    def _mqtt_tab(self) -> QWidget:
        tab = QWidget(self)
        form = QFormLayout(tab)
        self.host = QLineEdit("localhost")
        form.addRow(tr("Host"), self.host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(8883)
        form.addRow(tr("Port"), self.port)
        self.tls = QCheckBox(tr("TLS (encrypted)"))
        self.tls.setChecked(True)
        self.tls.toggled.connect(self._tls_toggled)
        form.addRow("", self.tls)
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText(tr("empty: the system's certificate authorities"))
        form.addRow(tr("CA file"), _file_row(self.ca_file, tr("CA file"), self))
        self.cert_file = QLineEdit()
        form.addRow(tr("Client certificate"), _file_row(self.cert_file,
                                                         tr("Client certificate"), self))
        self.key_file = QLineEdit()
        form.addRow(tr("Client key"), _file_row(self.key_file, tr("Client key"), self))
        self.username = QLineEdit()
        form.addRow(tr("User name"), self.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(tr("empty: the remembered one, if any"))
        form.addRow(tr("Password"), self.password)
        self.remember = QCheckBox(tr("Remember the password"))
        self.remember.setChecked(True)
        form.addRow("", self.remember)
        self.client_id = QLineEdit(f"citytwin-{socket.gethostname()}")
        form.addRow(tr("Client id"), self.client_id)
        self.qos = QSpinBox()
        self.qos.setRange(0, 2)
        self.qos.setValue(1)
        form.addRow(tr("QoS"), self.qos)
        self.topics = QPlainTextEdit("citytwin/+")
        self.topics.setToolTip(tr("One per line: topic filter = sensor id. Without a sensor "
                                  "id, the + level of the topic names the sensor."))
        self.topics.setMaximumHeight(90)
        form.addRow(tr("Topics"), self.topics)
        return tab

    def _sta_tab(self) -> QWidget:
        tab = QWidget(self)
        form = QFormLayout(tab)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://host/FROST-Server/v1.1")
        form.addRow(tr("Base URL"), self.url)
        self.poll_s = QSpinBox()
        self.poll_s.setRange(1, 86_400)
        self.poll_s.setValue(60)
        self.poll_s.setSuffix(" s")
        form.addRow(tr("Poll every"), self.poll_s)
        self.auth_header = QLineEdit("Authorization")
        form.addRow(tr("Auth header"), self.auth_header)
        self.auth_value = QLineEdit()
        self.auth_value.setEchoMode(QLineEdit.EchoMode.Password)
        self.auth_value.setPlaceholderText(tr("e.g. Bearer …; empty: the remembered one"))
        form.addRow(tr("Auth value"), self.auth_value)
        self.sta_remember = QCheckBox(tr("Remember the auth value"))
        self.sta_remember.setChecked(True)
        form.addRow("", self.sta_remember)
        self.sta_ca_file = QLineEdit()
        form.addRow(tr("CA file"), _file_row(self.sta_ca_file, tr("CA file"), self))
        self.datastreams = QPlainTextEdit()
        self.datastreams.setToolTip(tr("One per line: datastream id, name or Thing name = "
                                       "sensor id. Empty: datastreams named like sensors."))
        self.datastreams.setMaximumHeight(90)
        form.addRow(tr("Datastreams"), self.datastreams)
        return tab

    def _tls_toggled(self, on: bool) -> None:
        if on and self.port.value() == 1883:
            self.port.setValue(8883)
        elif not on and self.port.value() == 8883:
            self.port.setValue(1883)

    # -- what the fields say -----------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "mqtt" if self.tabs.currentIndex() == 0 else "sensorthings"

    def table(self) -> dict[str, Any]:
        """The feed as a ``[[feeds]]`` table: no secret in it, ever."""
        name = self.name.text().strip() or self._free_name("live feed")
        if self.kind == "mqtt":
            out: dict[str, Any] = {
                "type": "mqtt", "name": name, "host": self.host.text().strip(),
                "port": self.port.value(), "tls": self.tls.isChecked(),
                "client_id": self.client_id.text().strip() or "citytwin",
                "qos": self.qos.value(), "topics": parse_mapping(self.topics.toPlainText()),
            }
            for key, edit in (("ca_file", self.ca_file), ("cert_file", self.cert_file),
                              ("key_file", self.key_file)):
                if edit.text().strip():
                    out[key] = str(Path(edit.text().strip()).expanduser().resolve())
            if self.username.text().strip():
                out["username"] = self.username.text().strip()
            return out
        out = {"type": "sensorthings", "name": name, "url": self.url.text().strip(),
               "poll_s": float(self.poll_s.value()),
               "auth_header": self.auth_header.text().strip()}
        mapping = parse_mapping(self.datastreams.toPlainText())
        if mapping:
            out["datastreams"] = mapping
        if self.sta_ca_file.text().strip():
            out["ca_file"] = str(Path(self.sta_ca_file.text().strip()).expanduser().resolve())
        return out

    def secret(self) -> tuple[str | None, bool]:
        """(typed secret or None, remember it?)."""
        if self.kind == "mqtt":
            return self.password.text() or None, self.remember.isChecked()
        return self.auth_value.text() or None, self.sta_remember.isChecked()

    def _free_name(self, base: str) -> str:
        sim = self.main_window.sim
        taken = {f.name for f in sim.feeds} if sim is not None else set()
        name, i = base, 1
        while name in taken:
            i += 1
            name = f"{base} {i}"
        return name

    # -- connecting --------------------------------------------------------------------------
    def connect_feed(self) -> None:
        """Build the feed, start it in the simulation, and watch its first connection."""
        from twin.scenefile import SceneFileError
        from twin.sim import secrets
        from twin.sim.feeds import make_feed

        sim = self.main_window.sim
        if sim is None or self.feed is not None:
            return
        table = self.table()
        if table["type"] == "mqtt" and not table["topics"]:
            self._show_error(tr("Give at least one topic."))
            return
        if not all(table.get("datastreams", {}).values()):
            self._show_error(tr("Write each datastream as: datastream = sensor id."))
            return
        if table["name"] in {f.name for f in sim.feeds}:
            self._show_error(tr("A feed with this name exists: choose another name."))
            return
        secret, remember = self.secret()
        try:
            feed = make_feed(_base_path(self.main_window), table, table["type"], sim.sensors,
                             sim.store, secret=secret)
        except SceneFileError as exc:
            self._show_error(f"{exc.key}: {exc.message}")
            return
        except ValueError as exc:  # a secrets file others can read, a bad value
            self._show_error(str(exc))
            return
        if secret and remember:
            try:
                secrets.store(secret_key_of(table), secret)
            except (OSError, ValueError) as exc:
                self._show_error(tr("The password could not be remembered: {0}")
                                 .replace("{0}", str(exc)))
                return
        self.feed = sim.add_feed(feed)
        self.table_connected = table
        self._deadline = time.monotonic() + CONNECT_WAIT_S
        self.status.setStyleSheet("")
        self.status.setText(tr("Connecting…"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self._timer.start()

    def _watch(self) -> None:
        feed = self.feed
        sim = self.main_window.sim
        if feed is None or sim is None or feed not in sim.feeds:  # e.g. another scene opened
            self._timer.stop()
            self.feed = None
            return
        code = getattr(feed, "error_code", "")
        if feed.status == "failed" or (code and feed.status != "running"):
            self._timer.stop()
            detail = feed.last_error
            sim.remove_feed(feed)
            self.feed = None
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            self._show_error(f"{error_headline(code, feed.kind)}\n{detail}")
            return
        if feed.status in ("running", "stale") or time.monotonic() > self._deadline:
            self._timer.stop()
            self.main_window.connected_feeds.append((feed, self.table_connected))
            message = (tr("Connected feed {0}") if feed.status in ("running", "stale")
                       else tr("Feed {0} is still connecting; it keeps retrying"))
            self.main_window.statusBar().showMessage(message.replace("{0}", feed.name))
            self.accept()

    def _show_error(self, text: str) -> None:
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(text)

    def reject(self) -> None:
        self._timer.stop()
        sim = self.main_window.sim
        if self.feed is not None and sim is not None:  # cancelled while connecting
            sim.remove_feed(self.feed)  # nothing is added
        self.feed = None
        super().reject()


def secret_key_of(table: dict[str, Any]) -> str:
    """The :mod:`twin.sim.secrets` key of a feed table (what the feed looks up)."""
    from twin.sim import secrets

    if table["type"] == "mqtt":
        return secrets.secret_key("mqtt", f"{table['host']}:{table['port']}",
                                  table.get("username"))
    return secrets.secret_key("sensorthings", table["url"].rstrip("/"))


def _base_path(window) -> Path:
    """What make_feed names in errors and resolves relative paths against."""
    base = window.project_path or window.scene_path
    return Path(base) if base else Path.cwd() / "window"


def ask_connect_feed(window) -> FeedConnectDialog:
    """Open the dialog (window-modal, not blocking: tests drive it as a person would)."""
    dialog = FeedConnectDialog(window)
    window.feed_dialog = dialog
    dialog.open()
    return dialog


def connected_tables(window) -> list[dict[str, Any]]:
    """The tables of feeds connected from the window that still run, for the project."""
    sim = window.sim
    feeds = sim.feeds if sim is not None else []
    return [dict(t) for f, t in window.connected_feeds if f in feeds]


def restore_feeds(window, tables: list[dict[str, Any]], path: Path) -> list[str]:
    """Connect a reopened project's feeds (secrets from :mod:`twin.sim.secrets`);
    returns warnings for those that cannot be built."""
    from twin.sim.feeds import make_feed

    warnings = []
    sim = window.sim
    for i, table in enumerate(tables):
        if sim is None:
            warnings.append(f"feed {table.get('name', i + 1)!r}: the scene has no sensors")
            continue
        if table.get("name") in {f.name for f in sim.feeds}:
            warnings.append(f"feed {table.get('name')!r}: the scene already has a feed so named")
            continue
        try:
            feed = make_feed(Path(path), table, f"feeds[{i}]", sim.sensors, sim.store)
        except ValueError as exc:
            warnings.append(str(exc).splitlines()[0])
            continue
        window.connected_feeds.append((sim.add_feed(feed), dict(table)))
    return warnings
