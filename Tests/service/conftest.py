"""Fixtures for the service tests: real `moviola serve` / `moviola worker` processes on loopback,
over SQLite and (when the test script started one) PostgreSQL."""
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("MOVIOLA_BIN", os.path.join(ROOT, ".build", "debug", "moviola"))
POSTGRES = os.environ.get("MOVIOLA_TEST_POSTGRES_URL")

# Small, quick clips: the bundled model at 4 steps, 1 second, written at 256 px (publishing in a debug build stays well inside the lease).
QUICK = {"steps": 4, "duration": 1, "resolution": 256}


def backends():
    names = ["sqlite"]
    if POSTGRES or os.environ.get("MOVIOLA_REQUIRE_POSTGRES"):
        names.append("postgres")
    return names


def fresh_postgres_database():
    """A new empty database on the test server; its URL."""
    if not POSTGRES:
        pytest.fail("MOVIOLA_TEST_POSTGRES_URL is not set: run through `make test`, which starts PostgreSQL")
    name = "moviola_" + uuid.uuid4().hex[:12]
    admin = POSTGRES.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


class Service:
    """One data folder and database, with the server and workers started on it."""

    def __init__(self, backend, tmp):
        self.backend = backend
        self.data = os.path.join(tmp, "data")
        self.database = fresh_postgres_database() if backend == "postgres" else None
        self.server = None
        self.port = None
        self.workers = []
        self.logs = []
        self.tmp = tmp

    def storage_args(self):
        args = ["--data", self.data]
        if self.database:
            args += ["--database", self.database]
        return args

    def env(self):
        env = dict(os.environ)
        env["MOVIOLA_HOME"] = ROOT
        env["MOVIOLA_DATA"] = self.data
        env.setdefault("MOVIOLA_THREADS", "1")
        return env

    def start(self, *extra, workers=1, lease=30):
        port_file = os.path.join(self.tmp, f"port-{uuid.uuid4().hex[:6]}")
        log = open(os.path.join(self.tmp, f"serve-{len(self.logs)}.log"), "w")
        self.logs.append(log.name)
        self.server = subprocess.Popen(
            [BINARY, "serve", "--port", "0", "--port-file", port_file, "--workers", str(workers),
             "--lease-seconds", str(lease), "--threads", "1", *self.storage_args(), *extra],
            stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=ROOT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise AssertionError(f"moviola serve exited: {open(log.name).read()}")
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read())
                break
            time.sleep(0.1)
        else:
            raise AssertionError("moviola serve did not start within 60 s")
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.server and self.server.poll() is None:
            self.server.send_signal(sig)
            try:
                self.server.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
                raise AssertionError("moviola serve did not shut down within its timeout")

    def admin(self, *args):
        out = subprocess.run([BINARY, "admin", *args, *self.storage_args()], capture_output=True, text=True,
                             env=self.env(), cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def worker_token(self):
        return self.admin("keys", "create", "--worker", "--name", "test-worker")

    def start_worker(self, token, name="w"):
        log = open(os.path.join(self.tmp, f"worker-{name}-{len(self.workers)}.log"), "w")
        process = subprocess.Popen([BINARY, "worker", "--server", self.url, "--token", token, "--threads", "1"],
                                   stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=ROOT)
        self.workers.append(process)
        return process

    # API helpers
    def create(self, body, headers=None, expect=201):
        response = requests.post(self.url + "/api/v1/generations", json=body, headers=headers or {}, timeout=30)
        assert response.status_code == expect, response.text
        return response.json()

    def get(self, gid):
        response = requests.get(f"{self.url}/api/v1/generations/{gid}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, gid, states=("succeeded", "failed", "cancelled"), timeout=240):
        deadline = time.time() + timeout
        while time.time() < deadline:
            g = self.get(gid)
            if g["state"] in states:
                return g
            time.sleep(0.3)
        raise AssertionError(f"{gid} did not reach {states} within {timeout} s: {self.get(gid)}")

    def close(self):
        for process in self.workers:
            if process.poll() is None:
                process.kill()
                process.wait()
        if self.server and self.server.poll() is None:
            self.server.kill()
            self.server.wait()


@pytest.fixture(params=backends())
def service(request):
    tmp = tempfile.mkdtemp(prefix="moviola-service-")
    s = Service(request.param, tmp)
    yield s
    s.close()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for path in s.logs:
            print(f"--- {path}\n" + open(path).read()[-4000:])


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def sse_events(url, last_event_id=None, timeout=240):
    """Yields (id, event, data) from an SSE stream until it ends."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        event = {"id": None, "event": "message", "data": ""}
        for raw in response.iter_lines(decode_unicode=True):
            if raw == "":
                if event["data"]:
                    yield event["id"], event["event"], json.loads(event["data"])
                event = {"id": None, "event": "message", "data": ""}
            elif raw.startswith(":"):
                continue
            elif raw.startswith("id: "):
                event["id"] = int(raw[4:])
            elif raw.startswith("event: "):
                event["event"] = raw[7:]
            elif raw.startswith("data: "):
                event["data"] += raw[6:]
