"""MQTT over TLS with a password file, against a real mosquitto the test sets up:
a test CA and a server certificate (openssl), a password file (mosquitto_passwd),
a TLS-only listener that refuses anonymous clients.

Correct credentials -> observations arrive; a wrong password or a broker whose
certificate the CA file does not vouch for -> the feed fails at once with one
line saying which, and its thread ends (no retry loop, no hang). Skipped, with
the reason shown, where mosquitto, mosquitto_passwd or openssl are missing.
"""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from twin.scenefile import SceneFileError
from twin.sim.feeds import make_feed
from twin.sim.feeds.mqtt import MqttFeed
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(
    not (MOSQUITTO and MOSQUITTO_PASSWD and OPENSSL),
    reason="needs mosquitto, mosquitto_passwd (apt-get install mosquitto) and openssl")
pytest.importorskip("paho.mqtt.client", reason="paho-mqtt>=2 is not installed")

USER, PASSWORD = "ops-viettri", "s3cret-Ph\u00fa-Th\u1ecd"
T0_MS = int(time.time() * 1000) - 60_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


#: P-256 keys: generated in milliseconds, where RSA takes seconds on a busy machine
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str) -> tuple[Path, Path]:
    """A self-signed test CA: (cert, key)."""
    openssl("req", "-x509", *EC_KEY, "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return d / f"{name}.crt", d / f"{name}.key"


def make_leaf(d: Path, name: str, ca: tuple[Path, Path], server: bool = True) -> tuple[Path, Path]:
    """A certificate signed by ``ca`` for localhost / 127.0.0.1 (server) or a client."""
    openssl("req", *EC_KEY, "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                   if server else "extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", str(ext), cwd=d)
    return d / f"{name}.crt", d / f"{name}.key"


class TlsBroker:
    """mosquitto with one TLS listener, a password file and no anonymous access."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        self.ca = make_ca(d, "test-ca")
        self.rogue_ca = make_ca(d, "rogue-ca")  # trusts nothing this broker shows
        self.server = make_leaf(d, "broker", self.ca)
        self.client = make_leaf(d, "client", self.ca, server=False)
        self.passwd = d / "passwd"
        subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(self.passwd), USER, PASSWORD],
                       check=True, capture_output=True)
        self.port = free_port()
        conf = d / "mosquitto.conf"
        conf.write_text("\n".join([
            "per_listener_settings false", "allow_anonymous false",
            f"password_file {self.passwd}", f"listener {self.port} 127.0.0.1",
            f"cafile {self.ca[0]}", f"certfile {self.server[0]}", f"keyfile {self.server[1]}",
            "require_certificate false", f"log_dest file {d / 'broker.log'}",
            f"user {getpass.getuser()}", ""]))
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        if not wait_for(listening, 10):
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {(d / 'broker.log').read_text()}")

    def publish(self, topic: str, payloads: list[dict]) -> None:
        """Publish QoS 1 with the right credentials, over TLS, and wait for each."""
        import paho.mqtt.client as mqtt

        pub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                          client_id=f"pub-{time.monotonic_ns()}", protocol=mqtt.MQTTv5)
        pub.username_pw_set(USER, PASSWORD)
        pub.tls_set_context(ssl.create_default_context(cafile=str(self.ca[0])))
        pub.connect("localhost", self.port)
        pub.loop_start()
        try:
            for p in payloads:
                pub.publish(topic, json.dumps(p), qos=1).wait_for_publish(5)
        finally:
            pub.disconnect()
            pub.loop_stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = TlsBroker(tmp_path_factory.mktemp("tls-broker"))
    yield b
    b.stop()


def sensors(ids=("S1", "S2")) -> SensorSet:
    import numpy as np

    n = len(ids)
    return SensorSet(
        ids=np.array(ids, object), kinds=np.array(["water_level"] * n, object),
        units=np.array(["m"] * n, object), names=np.array([""] * n, object),
        positions=np.zeros((n, 3)), layer=np.array([None] * n, object),
        row=np.full(n, -1, np.int64), warning=np.full(n, np.nan), alarm=np.full(n, np.nan),
        params=[{} for _ in ids])


def tls_feed(broker: TlsBroker, store: HistoryStore, **kw) -> MqttFeed:
    args = {"host": "localhost", "port": broker.port, "topic": "vt/+", "tls": True,
            "ca_file": str(broker.ca[0]), "username": USER, "password": PASSWORD,
            "client_id": f"ct-{time.monotonic_ns()}", "reconnect": (0.2, 1.0)}
    args.update(kw)
    return MqttFeed("tls", sensors(), store, **args)


def test_right_credentials_over_tls_deliver_observations(broker):
    store = HistoryStore(":memory:", ["S1", "S2"])
    feed = tls_feed(broker, store)
    feed.start()
    try:
        assert wait_for(feed.connected.is_set), feed.last_error
        broker.publish("vt/S1", [{"time": T0_MS + i * 1000, "value": 1.5 + i} for i in range(5)])
        assert wait_for(lambda: len(store) == 5), feed.report()
        assert feed.status == "running" and feed.error_code == ""
        _t, v = store.series("S1", 0, 2**62)
        assert v.tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]
    finally:
        feed.stop()


def test_client_certificate_and_topic_mapping(broker):
    """A client certificate is presented (the broker accepts it), and exact topics
    map to sensors while a wildcard filter takes the id from the topic."""
    store = HistoryStore(":memory:", ["S1", "S2"])
    feed = tls_feed(broker, store, cert_file=str(broker.client[0]),
                    key_file=str(broker.client[1]),
                    topics={"plant/river/level": "S2", "vt/+": ""})
    feed.start()
    try:
        assert wait_for(feed.connected.is_set), feed.last_error
        broker.publish("plant/river/level", [{"time": T0_MS, "value": 7.0}])
        broker.publish("vt/S1", [{"time": T0_MS, "value": 3.0}])
        assert wait_for(lambda: len(store) == 2), feed.report()
        assert store.series("S2", 0, 2**62)[1].tolist() == [7.0]
        assert store.series("S1", 0, 2**62)[1].tolist() == [3.0]
    finally:
        feed.stop()


def test_wrong_password_fails_at_once_with_one_line(broker):
    feed = tls_feed(broker, HistoryStore(":memory:", ["S1", "S2"]), password="wrong")
    t0 = time.monotonic()
    feed.start()
    feed.join(10)
    assert not feed._thread.is_alive(), "the feed kept retrying a refused login"
    assert time.monotonic() - t0 < 10
    assert feed.status == "failed" and feed.error_code == "auth"
    assert "refused the login" in feed.last_error and "\n" not in feed.last_error
    assert f"localhost:{broker.port}" in feed.last_error


def test_untrusted_certificate_fails_at_once_with_one_line(broker):
    feed = tls_feed(broker, HistoryStore(":memory:", ["S1", "S2"]),
                    ca_file=str(broker.rogue_ca[0]))
    feed.start()
    feed.join(10)
    assert not feed._thread.is_alive()
    assert feed.status == "failed" and feed.error_code == "tls_untrusted"
    assert "not trusted" in feed.last_error and "\n" not in feed.last_error
    assert "password" not in feed.last_error.lower()


def test_unreadable_ca_file_names_the_file(broker, tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    feed = tls_feed(broker, HistoryStore(":memory:", ["S1", "S2"]), ca_file=str(bad))
    feed.start()
    feed.join(10)
    assert feed.status == "failed" and feed.error_code == "config"
    assert str(bad) in feed.last_error


def test_scene_table_takes_the_password_from_the_environment(broker, tmp_path, monkeypatch):
    """The scene file names the broker, the CA (relative path) and the user; the
    password comes from CITYTWIN_MQTT_PASSWORD."""
    shutil.copy(broker.ca[0], tmp_path / "ca.crt")
    monkeypatch.setenv("CITYTWIN_MQTT_PASSWORD", PASSWORD)
    table = {"type": "mqtt", "host": "localhost", "port": broker.port, "topic": "vt/+",
             "tls": True, "ca_file": "ca.crt", "username": USER, "client_id": "ct-scene",
             "qos": 1}
    store = HistoryStore(":memory:", ["S1", "S2"])
    feed = make_feed(tmp_path / "scene.toml", table, "feeds[0]", sensors(), store)
    assert feed.ca_file == str(tmp_path / "ca.crt") and feed.password == PASSWORD
    feed.start()
    try:
        assert wait_for(feed.connected.is_set), feed.last_error
        broker.publish("vt/S2", [{"time": T0_MS, "value": 2.0}])
        assert wait_for(lambda: len(store) == 1), feed.report()
    finally:
        feed.stop()


@pytest.mark.parametrize("table, key, words", [
    ({"password": "x"}, "password", "never go in scene or project files"),
    ({"qos": 3}, "qos", "expected 0, 1 or 2"),
    ({"ca_file": "missing.crt"}, "ca_file", "file not found"),
    ({"topics": {"a/#/b": ""}}, "topics", "not a valid MQTT topic filter"),
])
def test_bad_mqtt_keys_are_one_line_errors(tmp_path, table, key, words):
    base = {"type": "mqtt", "topic": "vt/+"}
    with pytest.raises(SceneFileError) as err:
        make_feed(tmp_path / "scene.toml", {**base, **table}, "feeds[0]", sensors(),
                  HistoryStore(":memory:", ["S1", "S2"]))
    text = str(err.value)
    assert f"feeds[0].{key}" in text and words in text and "\n" not in text


def test_plain_mqtt_on_the_tls_port_and_a_closed_port_say_so(broker):
    """Retried (the broker may come back), but the reason is named at once."""
    plain = tls_feed(broker, HistoryStore(":memory:", ["S1", "S2"]), tls=False, ca_file=None)
    closed = tls_feed(broker, HistoryStore(":memory:", ["S1", "S2"]), port=free_port())
    for feed in (plain, closed):
        feed.start()
    try:
        assert wait_for(lambda: plain.error_code == "closed" and closed.error_code == "refused")
        assert "does this port need TLS?" in plain.last_error
        assert "refused the connection" in closed.last_error
        assert plain.status == closed.status == "connecting"
    finally:
        plain.stop()
        closed.stop()
    assert plain.status == closed.status == "stopped"
