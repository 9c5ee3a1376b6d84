"""Feeds connected from the window, and where their secrets go.

- twin.sim.secrets: the keyring when one works; on a headless Debian (keyring's
  *fail* backend) the private fallback file ``$XDG_CONFIG_HOME/citytwin/secrets``
  (0600), refused when others can read it; the environment overrides both.
- The real window (Xvfb) and a real mosquitto with a TLS listener and a password
  file (tests/test_mqtt_tls.py makes them): File → Connect feed… connects, values
  arrive in the simulation, the saved project and the scene file hold no
  password, and the reopened project connects again with the remembered one; a
  wrong password is one line in the dialog and adds nothing.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from twin.sim import secrets

KEY = secrets.secret_key("mqtt", "broker.viettri.gov.vn:8883", "ops")


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CITYTWIN_SECRETS", raising=False)
    monkeypatch.delenv("CITYTWIN_MQTT_PASSWORD", raising=False)
    return tmp_path / "config"


@pytest.fixture
def keyring_backend():
    """Set keyring's backend for one test and put the previous one back."""
    keyring = pytest.importorskip("keyring")
    before = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(before)


def test_headless_keyring_falls_back_to_a_private_file(config_home, keyring_backend):
    from keyring.backends import fail

    keyring_backend(fail.Keyring())  # what a Debian server without Secret Service gets
    assert secrets.backend_name() == "file"
    where = secrets.store(KEY, "pa ss:wörd")
    path = config_home / "citytwin" / "secrets"
    assert where == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {KEY: "pa ss:wörd"}
    assert secrets.lookup(KEY) == "pa ss:wörd"
    assert secrets.lookup(KEY, env="CITYTWIN_MQTT_PASSWORD") == "pa ss:wörd"
    os.environ["CITYTWIN_MQTT_PASSWORD"] = "from-env"
    try:  # the environment wins (a service unit sets it)
        assert secrets.lookup(KEY, env="CITYTWIN_MQTT_PASSWORD") == "from-env"
    finally:
        del os.environ["CITYTWIN_MQTT_PASSWORD"]
    secrets.store("other", "x")
    secrets.forget(KEY)
    assert secrets.lookup(KEY) is None and secrets.lookup("other") == "x"
    assert not [p for p in path.parent.iterdir() if p.name != "secrets"]  # no temp files


def test_a_secrets_file_others_can_read_is_refused(config_home, keyring_backend):
    from keyring.backends import fail

    keyring_backend(fail.Keyring())
    secrets.store(KEY, "x")
    path = config_home / "citytwin" / "secrets"
    path.chmod(0o644)
    with pytest.raises(secrets.SecretError) as err:
        secrets.lookup(KEY)
    assert str(path) in str(err.value) and "chmod 600" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_working_keyring_is_used_and_no_file_is_written(config_home, keyring_backend):
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        """A working backend (as Secret Service or Keychain would be)."""

        priority = 5

        def __init__(self) -> None:
            super().__init__()
            self.data: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.data.get((service, username))

        def set_password(self, service, username, password):
            self.data[(service, username)] = password

        def delete_password(self, service, username):
            self.data.pop((service, username), None)

    ring = MemoryKeyring()
    keyring_backend(ring)
    assert secrets.backend_name() == "keyring"
    assert secrets.store(KEY, "k") == "keyring"
    assert ring.data == {("citytwin", KEY): "k"} and secrets.lookup(KEY) == "k"
    assert not (config_home / "citytwin" / "secrets").exists()
    os.environ["CITYTWIN_SECRETS"] = "file"
    try:  # turned off: the file
        assert secrets.backend_name() == "file"
    finally:
        del os.environ["CITYTWIN_SECRETS"]


def test_citytwin_secrets_set_feeds_a_headless_scene(config_home, tmp_path, keyring_backend):
    """On a server: ``citytwin secrets set`` (secret on stdin, never argv) writes the
    fallback file; a scene's MQTT feed with that user then gets the password."""
    import subprocess
    import sys

    from keyring.backends import fail

    from twin.sim.feeds import make_feed
    from twin.sim.store import HistoryStore

    keyring_backend(fail.Keyring())
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "app.cli", "secrets", "set", "--mqtt",
                           "broker.vt:8883", "--user", "ops"], input="hunter2\n", text=True,
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    path = config_home / "citytwin" / "secrets"
    assert str(path) in done.stdout and "hunter2" not in done.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    table = {"type": "mqtt", "host": "broker.vt", "port": 8883, "topic": "vt/+",
             "username": "ops"}
    from test_mqtt_tls import sensors

    feed = make_feed(tmp_path / "s.toml", table, "feeds[0]", sensors(),
                     HistoryStore(":memory:", ["S1", "S2"]))
    assert feed.password == "hunter2"
    empty = subprocess.run([sys.executable, "-m", "app.cli", "secrets", "set", "k"], input="",
                           text=True, capture_output=True, env=env, timeout=60)
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1


def test_topics_map_to_sensors():
    """Exact topics name their sensor ("" : the payload does); wildcard filters take
    the id from their + level (# : the rest of the topic) unless mapped."""
    from test_mqtt_tls import sensors

    from twin.sim.feeds.mqtt import MqttFeed
    from twin.sim.store import HistoryStore

    feed = MqttFeed("m", sensors(), HistoryStore(":memory:", ["S1", "S2"]),
                    topics={"plant/level": "S2", "raw/x": "", "vt/+": "",
                            "site/+/level": "S1", "deep/#": ""})
    assert feed.topic_sensor("plant/level") == "S2"
    assert feed.topic_sensor("raw/x") is None
    assert feed.topic_sensor("vt/S1") == "S1"
    assert feed.topic_sensor("site/a/level") == "S1"
    assert feed.topic_sensor("deep/a/b") == "a/b"
    assert feed.topic_sensor("other/x") is None
    single = MqttFeed("s", sensors(), HistoryStore(":memory:", ["S1", "S2"]), topic="ct/+")
    assert single.topic_sensor("ct/S2") == "S2"  # the scene files' one-filter form


def test_project_feed_tables_never_carry_a_secret(tmp_path):
    from twin import project as projects

    ca = tmp_path / "pki" / "ca.crt"
    ca.parent.mkdir()
    ca.write_text("x")
    p = projects.Project(feeds=[{"type": "mqtt", "name": "b", "host": "h", "topic": "a/+",
                                 "username": "ops", "password": "hunter2",
                                 "ca_file": str(ca)}])
    text = projects.to_json(p, tmp_path / "p.ctproj")
    assert "hunter2" not in text and '"pki/ca.crt"' in text
    back, warnings = projects.parse_project(text, tmp_path / "p.ctproj")
    assert back.feeds[0]["ca_file"] == str(ca) and "password" not in back.feeds[0]
    assert not warnings


# -- the window ---------------------------------------------------------------------------
def _scene(tmp_path: Path) -> Path:
    lines = ['[scene]', 'name = "feed connect"', 'crs = "EPSG:9208"',
             'origin = [568000.0, 2357000.0, 0.0]', '']
    for i in (1, 2):
        lines += ['[[sensors]]', f'id = "S{i}"', 'kind = "water_level"',
                  f'location = [{568000 + 10 * i}.0, 2357000.0]', '']
    path = tmp_path / "scene.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _show(qtbot, win) -> None:
    """Shown and exposed (a layer-less scene has no overview bookmark to go to)."""
    win.resize(900, 640)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, config_home):
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (install xvfb: pytest-xvfb starts it)")
    from PySide6.QtCore import QSettings

    import importers
    from app import main_window as mw

    monkeypatch.setenv("CITYTWIN_SECRETS", "file")  # never the developer's own keyring
    messages: list[str] = []
    monkeypatch.setattr(mw.QMessageBox, "warning",
                        lambda _p, _t, text, *a, **k: messages.append(text))
    scene_path = _scene(tmp_path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = mw.MainWindow(importers.open_scene(scene_path), scene_path=scene_path,
                        settings=settings)
    win.messages = messages
    _show(qtbot, win)
    yield win
    win.close()


def _fill(dialog, broker, password: str, name: str = "river broker") -> None:
    from test_mqtt_tls import USER

    dialog.name.setText(name)
    dialog.tabs.setCurrentIndex(0)
    dialog.host.setText("localhost")
    dialog.tls.setChecked(True)
    dialog.port.setValue(broker.port)
    dialog.ca_file.setText(str(broker.ca[0]))
    dialog.username.setText(USER)
    dialog.password.setText(password)
    dialog.client_id.setText(f"ct-gui-{time.monotonic_ns()}")
    dialog.topics.setPlainText("vt/+\nplant/river/level = S2")


def _click_connect(qtbot, dialog) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialogButtonBox

    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


@pytest.mark.gui
def test_connect_from_the_window_over_tls_values_arrive_and_no_secret_is_saved(
        qtbot, window, tmp_path, config_home):
    pytest.importorskip("paho.mqtt.client")
    from PySide6.QtWidgets import QDialog
    from test_mqtt_tls import MOSQUITTO, MOSQUITTO_PASSWD, OPENSSL, PASSWORD, TlsBroker

    if not (MOSQUITTO and MOSQUITTO_PASSWD and OPENSSL):
        pytest.skip("needs mosquitto, mosquitto_passwd and openssl")
    from app.panels import feed_connect

    (tmp_path / "broker").mkdir()
    broker = TlsBroker(tmp_path / "broker")
    try:
        # a wrong password: one line in the dialog, nothing added, the dialog stays
        dialog = feed_connect.ask_connect_feed(window)
        _fill(dialog, broker, "wrong")
        dialog.remember.setChecked(False)
        _click_connect(qtbot, dialog)
        qtbot.waitUntil(lambda: "user name and password" in dialog.status.text(), timeout=15000)
        assert dialog.isVisible() and dialog.feed is None
        assert [f.name for f in window.sim.feeds] == []
        assert not (config_home / "citytwin" / "secrets").exists()

        # the right one: connected, the dialog closes, data arrive
        dialog.password.setText(PASSWORD)
        dialog.remember.setChecked(True)
        _click_connect(qtbot, dialog)
        qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=15000)
        feed = window.sim.feeds[-1]
        assert feed.name == "river broker" and feed.status == "running"
        now_ms = int(time.time() * 1000) - 2000
        broker.publish("vt/S1", [{"time": now_ms, "value": 4.25}])
        broker.publish("plant/river/level", [{"time": now_ms, "value": 6.5}])
        qtbot.waitUntil(lambda: len(window.sim.store) == 2, timeout=10000)
        window.sim.follow_now()
        assert window.sim.values.tolist() == [4.25, 6.5]

        # the project and the scene file hold no password; the secrets file does (0600)
        project = tmp_path / "viet_tri.ctproj"
        assert window.save_project(project)
        text = project.read_text(encoding="utf-8")
        assert PASSWORD not in text and "wrong" not in text
        assert PASSWORD not in (tmp_path / "scene.toml").read_text(encoding="utf-8")
        saved = json.loads(text)["feeds"]
        assert saved[0]["name"] == "river broker" and saved[0]["tls"] is True
        assert saved[0]["topics"] == {"vt/+": "", "plant/river/level": "S2"}
        assert not Path(saved[0]["ca_file"]).is_absolute()  # beside the project
        stored = config_home / "citytwin" / "secrets"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert PASSWORD in json.loads(stored.read_text()).values()

        # reopened: the feed connects again, its password from the secrets file
        window.open_project(project)
        assert not window.messages, window.messages
        again = [f for f in window.sim.feeds if f.name == "river broker"]
        assert again and again[0] is not feed
        qtbot.waitUntil(lambda: again[0].status == "running", timeout=15000)
    finally:
        broker.stop()


@pytest.mark.gui
def test_the_dialog_says_when_the_scene_has_no_sensors(qtbot, tmp_path, monkeypatch):
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QDialogButtonBox

    import importers
    from app import main_window as mw
    from app.panels import feed_connect

    scene = tmp_path / "empty.toml"
    scene.write_text('[scene]\nname = "e"\ncrs = "EPSG:9208"\n'
                     'origin = [568000.0, 2357000.0, 0.0]\n')
    win = mw.MainWindow(importers.open_scene(scene), scene_path=scene,
                        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    _show(qtbot, win)
    try:
        dialog = feed_connect.ask_connect_feed(win)
        assert "no sensors" in dialog.status.text()
        assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
        dialog.reject()
    finally:
        win.close()


@pytest.mark.gui
def test_connect_a_sensorthings_service_with_an_auth_header(qtbot, window, config_home):
    from http.server import ThreadingHTTPServer

    from PySide6.QtWidgets import QDialog
    from test_sensorthings_poll import TOKEN, Service, handler_for

    from app.panels import feed_connect

    svc = Service()
    svc.token = TOKEN
    svc.add(1, 110, 3.5)  # ten minutes ago (the service's times start two hours back)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(svc))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1.1"
    try:
        dialog = feed_connect.ask_connect_feed(window)
        dialog.tabs.setCurrentIndex(1)
        dialog.name.setText("province STA")
        dialog.url.setText(url)
        dialog.poll_s.setValue(1)
        dialog.datastreams.setPlainText("gauge-1 = S1")
        dialog.auth_value.setText("Bearer wrong")
        dialog.sta_remember.setChecked(False)
        _click_connect(qtbot, dialog)
        qtbot.waitUntil(lambda: "auth header" in dialog.status.text(), timeout=15000)
        assert dialog.isVisible() and window.sim.feeds == []
        dialog.auth_value.setText(TOKEN)
        dialog.sta_remember.setChecked(True)
        _click_connect(qtbot, dialog)
        qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=15000)
        qtbot.waitUntil(lambda: len(window.sim.store) == 1, timeout=10000)
        key = secrets.secret_key("sensorthings", url)
        assert secrets.lookup(key) == TOKEN
        saved = feed_connect.connected_tables(window)
        assert saved == [{"type": "sensorthings", "name": "province STA", "url": url,
                          "poll_s": 1.0, "auth_header": "Authorization",
                          "datastreams": {"gauge-1": "S1"}}]
    finally:
        server.shutdown()
        server.server_close()

