"""Accounts, keys, quotas, the OpenAI- and Kling-compatible APIs, webhooks and the audit log, against
real `moviola serve` processes (SQLite and PostgreSQL)."""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import warnings

import jwt
import openai
import pytest
import requests

from conftest import BINARY, ROOT

PASSWORD = "correct horse battery"
warnings.filterwarnings("ignore", category=DeprecationWarning)


def signup(service, email, password=PASSWORD, invitation=None, expect=201):
    session = requests.Session()
    body = {"email": email, "password": password}
    if invitation:
        body["invitation"] = invitation
    response = session.post(service.url + "/api/v1/auth/signup", json=body, timeout=30)
    assert response.status_code == expect, response.text
    return session, response.json()


def new_key(session, service, kind="api_key"):
    response = session.post(service.url + "/api/v1/account/keys", json={"name": kind, "type": kind}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def kling_token(ak, sk, exp_in=1800, nbf_in=-5):
    now = int(time.time())
    return jwt.encode({"iss": ak, "exp": now + exp_in, "nbf": now + nbf_in}, sk, algorithm="HS256",
                      headers={"alg": "HS256", "typ": "JWT"})


def audit_kinds(service):
    out = admin_raw(service, "audit", "tail", "--limit", "100000")
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def ffprobe_frames(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height,nb_frames", "-of", "json", path],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["streams"][0]


def png(tmp, name="ref.png", size="160x96"):
    path = os.path.join(tmp, name)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}", "-frames:v", "1", path], check=True)
    return path


def test_openai_sdk_create_retrieve_download_remix_delete(service):
    service.start("--signup", "open", "--require-api-keys")
    session, account = signup(service, "sdk@example.com")
    key = new_key(session, service)
    client = openai.OpenAI(base_url=service.url + "/v1", api_key=key["secret"], max_retries=0)

    video = client.videos.create(prompt="three yellow stars rotate slowly on a night sky", seconds="1", size="1280x720",
                                 extra_body={"steps": 4, "seed": 7})
    assert video.object == "video" and video.status in ("queued", "in_progress")
    assert video.size == "1260x720" and video.seconds == "1" and video.expires_at is None
    deadline = time.time() + 240
    while video.status in ("queued", "in_progress") and time.time() < deadline:
        time.sleep(0.5)
        video = client.videos.retrieve(video.id)
    assert video.status == "completed", video
    assert video.progress == 100 and video.completed_at >= video.created_at
    path = os.path.join(service.tmp, "sdk.mp4")
    client.videos.download_content(video.id).write_to_file(path)
    stream = ffprobe_frames(path)
    assert (stream["width"], stream["height"]) == (1260, 720)
    thumb = client.videos.download_content(video.id, variant="thumbnail").content
    assert thumb[:3] == b"\xff\xd8\xff"

    # Image-to-video through multipart input_reference, and remix of a finished video.
    with open(png(service.tmp), "rb") as image:
        i2v = client.videos.create(prompt="a red ball bounces on grass", seconds="1", input_reference=image, extra_body={"steps": 4})
    remix = client.videos.remix(video.id, prompt="three blue stars rotate slowly on a night sky")
    assert remix.remixed_from_video_id == video.id and remix.size == video.size
    listed = [v.id for v in client.videos.list(limit=10).data]
    assert {video.id, i2v.id, remix.id} <= set(listed)
    for v in (i2v, remix):
        while v.status in ("queued", "in_progress"):
            time.sleep(0.5)
            v = client.videos.retrieve(v.id)
        assert v.status == "completed", v

    # Extension: the stitched clip is longer than its source.
    # openai 3.54's `videos.extend` insists that `video` is a file even for {"id": …}, so the reference form goes
    # through the SDK's generic post (JSON), as the API reference describes it.
    extension = client.post("/videos/extensions", cast_to=openai.types.Video,
                            body={"prompt": "the stars keep rotating", "seconds": "1", "video": {"id": video.id}, "steps": 4})
    while extension.status in ("queued", "in_progress"):
        time.sleep(0.5)
        extension = client.videos.retrieve(extension.id)
    assert extension.status == "completed", extension
    assert extension.seconds == "2"
    longer = os.path.join(service.tmp, "extended.mp4")
    client.videos.download_content(extension.id).write_to_file(longer)
    assert int(ffprobe_frames(longer)["nb_frames"]) > int(stream["nb_frames"])

    # Errors arrive in OpenAI's envelope and raise the SDK's own exceptions.
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.create(prompt="a red ball", seconds="60")
    assert "duration" in bad.value.message
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.videos.create(prompt="a naked child on a beach", seconds="1")
    assert refused.value.body["code"] == "moderation_blocked"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=service.url + "/v1", api_key="mvk_wrong", max_retries=0).videos.list()

    deleted = client.videos.delete(video.id)
    assert deleted.deleted and deleted.id == video.id
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)

    limits = session.get(service.url + "/api/v1/account/limits", timeout=30).json()
    # Four clips succeeded (1 s each, the extension 1 s): the refused and failed requests cost nothing.
    assert limits["credits"]["charged"] == 4 and limits["credits"]["reserved"] == 0, limits


def test_kling_client_with_jwt_from_access_keys(service):
    service.start("--signup", "open", "--require-api-keys")
    session, _ = signup(service, "kling@example.com")
    pair = new_key(session, service, "access_key")
    ak, sk = pair["access_key"], pair["secret_key"]
    headers = {"Authorization": "Bearer " + kling_token(ak, sk)}
    body = {"model_name": "kling-v1", "prompt": "一辆红色的汽车从左向右行驶", "negative_prompt": "blur", "duration": "1",
            "aspect_ratio": "9:16", "cfg_scale": 0.5, "mode": "std", "external_task_id": "order-42",
            "camera_control": {"type": "simple", "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 5}}}
    created = requests.post(service.url + "/v1/videos/text2video", json=body, headers=headers, timeout=30)
    assert created.status_code == 200, created.text
    envelope = created.json()
    assert envelope["code"] == 0 and envelope["request_id"] and envelope["data"]["task_status"] == "submitted"
    task_id = envelope["data"]["task_id"]
    deadline = time.time() + 240
    while time.time() < deadline:
        polled = requests.get(service.url + "/v1/videos/text2video/order-42", headers=headers, timeout=30).json()
        if polled["data"]["task_status"] in ("succeed", "failed"):
            break
        assert polled["data"]["task_status"] in ("submitted", "processing")
        time.sleep(0.5)
    task = polled["data"]
    assert task["task_status"] == "succeed", polled
    assert task["task_id"] == task_id and task["task_info"]["external_task_id"] == "order-42"
    video = task["task_result"]["videos"][0]
    assert video["duration"] == "1"
    download = requests.get(video["url"], timeout=60)  # no credential: the link itself is the capability
    assert download.status_code == 200 and download.content[4:8] == b"ftyp"
    tampered = video["url"].replace(".mp4", "0.mp4")
    assert requests.get(tampered, timeout=30).status_code == 404
    width_height = ffprobe_frames(_save(service, download.content))
    assert width_height["height"] > width_height["width"]  # 9:16

    listed = requests.get(service.url + "/v1/videos/text2video?pageNum=1&pageSize=10", headers=headers, timeout=30).json()
    assert listed["code"] == 0 and [t["task_id"] for t in listed["data"]] == [task_id]

    # A refused prompt is code 1301, and costs nothing.
    refused = requests.post(service.url + "/v1/videos/text2video", json={"prompt": "a naked child"}, headers=headers, timeout=30)
    assert refused.status_code == 400 and refused.json()["code"] == 1301, refused.text
    assert refused.json()["message"] != "SUCCEED"
    # Parameter errors are 1200/1201; a repeated external_task_id is refused.
    bad = requests.post(service.url + "/v1/videos/text2video", json={"prompt": "a ball", "cfg_scale": 3}, headers=headers, timeout=30)
    assert bad.json()["code"] == 1201 and "cfg_scale" in bad.json()["message"]
    two_axes = dict(body, camera_control={"type": "simple", "config": {"pan": 3, "zoom": 2}}, external_task_id="other")
    assert requests.post(service.url + "/v1/videos/text2video", json=two_axes, headers=headers, timeout=30).json()["code"] == 1201
    again = requests.post(service.url + "/v1/videos/text2video", json=body, headers=headers, timeout=30)
    assert again.json()["code"] == 1201 and "external_task_id" in again.json()["message"]

    # Image-to-video with a raw base64 first frame, and an extension of the first clip.
    import base64
    image = base64.b64encode(open(png(service.tmp), "rb").read()).decode()
    i2v = requests.post(service.url + "/v1/videos/image2video", json={"image": image, "prompt": "a ball", "duration": "1"},
                        headers=headers, timeout=30).json()
    assert i2v["code"] == 0, i2v
    extend = requests.post(service.url + "/v1/videos/video-extend", json={"video_id": video["id"], "prompt": "the car drives on"},
                           headers=headers, timeout=30).json()
    assert extend["code"] == 0, extend
    for family, tid in (("image2video", i2v["data"]["task_id"]), ("video-extend", extend["data"]["task_id"])):
        while True:
            d = requests.get(f"{service.url}/v1/videos/{family}/{tid}", headers=headers, timeout=30).json()["data"]
            if d["task_status"] in ("succeed", "failed"):
                break
            time.sleep(0.5)
        assert d["task_status"] == "succeed", d
    assert d["task_info"]["parent_video"]["id"] == video["id"]

    # Authentication codes: 1001 no header, 1002 bad signature, 1003 not yet valid, 1004 expired.
    url = service.url + "/v1/videos/text2video"
    assert requests.get(url, timeout=30).json()["code"] == 1001
    assert requests.get(url, headers={"Authorization": "Bearer " + kling_token(ak, "wrong")}, timeout=30).json()["code"] == 1002
    early = requests.get(url, headers={"Authorization": "Bearer " + kling_token(ak, sk, nbf_in=600)}, timeout=30)
    assert early.status_code == 401 and early.json()["code"] == 1003
    expired = requests.get(url, headers={"Authorization": "Bearer " + kling_token(ak, sk, exp_in=-120)}, timeout=30)
    assert expired.status_code == 401 and expired.json()["code"] == 1004 and "expired" in expired.json()["message"]
    # A revoked access key stops working at once.
    assert session.delete(f"{service.url}/api/v1/account/keys/{pair['id']}", timeout=30).status_code == 200
    revoked = requests.get(url, headers={"Authorization": "Bearer " + kling_token(ak, sk)}, timeout=30)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["message"]
    reasons = [e["data"].get("reason") for e in audit_kinds(service) if e["kind"] == "auth.refused"]
    for reason in ("no_credentials", "token_bad_signature", "token_not_yet_valid", "token_expired", "key_revoked"):
        assert reason in reasons, reasons


def _save(service, content):
    path = os.path.join(service.tmp, f"clip-{time.time_ns()}.mp4")
    with open(path, "wb") as f:
        f.write(content)
    return path


class Receiver:
    """A webhook receiver on loopback that fails its first `failures` requests with HTTP 500."""

    def __init__(self, failures):
        self.failures = failures
        self.calls = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                status = 500 if len(receiver.calls) <= receiver.failures else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()


def verify_signature(headers, body, secret):
    parts = dict(item.split("=", 1) for item in headers["Moviola-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "bad webhook signature"
    assert abs(int(parts["t"]) - time.time()) < 300


def test_webhooks_are_signed_ordered_and_retried(service):
    service.start("--signup", "open", "--webhook-allow-private", "--webhook-retry-seconds", "0.5")
    callback, account_hook = Receiver(failures=2), Receiver(failures=0)
    try:
        session, _ = signup(service, "hooks@example.com")
        hook = session.put(service.url + "/api/v1/account/webhook", json={"url": account_hook.url}, timeout=30).json()
        secret = hook["secret"]
        created = session.post(service.url + "/api/v1/generations",
                               json={"prompt": "a green ball moves right", "steps": 12, "duration": 1, "callback_url": callback.url},
                               timeout=30)
        assert created.status_code == 201, created.text
        gid = created.json()["id"]
        deadline = time.time() + 240
        while time.time() < deadline:
            if len([1 for _, b in callback.calls if json.loads(b)["type"] == "generation.succeeded"]) >= 1 and \
               "generation.succeeded" in {json.loads(b)["type"] for _, b in account_hook.calls}:
                break
            time.sleep(0.3)
        for receiver in (callback, account_hook):
            assert receiver.calls, "no webhook arrived"
            delivered = []
            for headers, body in receiver.calls:
                verify_signature(headers, body, secret)
                event = json.loads(body)
                assert event["generation_id"] == gid and headers["Moviola-Webhook-Id"] == event["id"]
                delivered.append(event)
            # Retries repeat the same event (same ID, same bytes); distinct events arrive in order.
            sequences = [e["sequence"] for e in delivered]
            assert sequences == sorted(sequences), sequences
            distinct = list(dict.fromkeys(e["id"] for e in delivered))
            kinds = [next(e["type"] for e in delivered if e["id"] == i) for i in distinct]
            assert kinds[0] == "generation.queued" and kinds[1] == "generation.started" and kinds[-1] == "generation.succeeded", kinds
            assert "generation.progress" in kinds
        # The failing receiver saw its first event three times (two 500s, then 200) and still got everything.
        first_ids = [json.loads(b)["id"] for _, b in callback.calls[:3]]
        assert len(set(first_ids)) == 1
        assert callback.calls[0][1] == callback.calls[2][1]
        log = session.get(f"{service.url}/api/v1/webhooks/deliveries?generation_id={gid}", timeout=30).json()["data"]
        first = [d for d in log if d["target"] == "callback" and d["event"] == "queued"][0]
        assert first["attempts"] == 3 and first["state"] == "delivered" and first["last_status"] == 200
        assert all(d["state"] == "delivered" for d in log), log
        # Redelivery sends the same event again with the same dedupe key.
        before = len(account_hook.calls)
        last = [d for d in log if d["target"] == "account" and d["event"] == "succeeded"][0]
        assert session.post(f"{service.url}/api/v1/webhooks/deliveries/{last['id']}/redeliver", timeout=30).status_code == 202
        deadline = time.time() + 30
        while len(account_hook.calls) == before and time.time() < deadline:
            time.sleep(0.2)
        assert json.loads(account_hook.calls[-1][1])["id"] == last["dedupe_key"]
    finally:
        callback.close()
        account_hook.close()


def test_private_callback_urls_are_refused_by_default(service):
    service.start("--signup", "open")
    session, _ = signup(service, "private@example.com")
    response = session.post(service.url + "/api/v1/generations",
                            json={"prompt": "a ball", "steps": 4, "duration": 1, "callback_url": "http://127.0.0.1:9/x"}, timeout=30)
    assert response.status_code == 400 and "private" in response.json()["error"]["message"]


def run_sql(service, statement):
    if service.database:
        subprocess.run(["psql", service.database, "-q", "-c", statement], check=True, capture_output=True)
    else:
        with sqlite3.connect(os.path.join(service.data, "moviola.sqlite")) as db:
            db.execute(statement)


def test_waitlist_invitations_limits_suspension_and_audit_tampering(service):
    service.start("--require-api-keys", "--workers", "0", "--audit-checkpoint-seconds", "1")
    url = service.url
    # Waitlist: signed up, told the place in line, but not admitted.
    first, account = signup(service, "first@example.com")
    second, account2 = signup(service, "second@example.com")
    assert account["status"] == "waitlisted" and account["waitlist_position"] == 1 and account2["waitlist_position"] == 2
    waiting = first.post(url + "/api/v1/generations", json={"prompt": "a ball", "steps": 4, "duration": 1}, timeout=30)
    assert waiting.status_code == 403 and waiting.json()["error"]["code"] == "account_waitlisted"
    assert "number 1" in waiting.json()["error"]["message"]
    # Sign-up rules and wrong passwords.
    assert signup(service, "weak@example.com", password="short", expect=400)[1]["error"]["field"] == "password"
    assert signup(service, "first@example.com", expect=409)[1]["error"]["code"] == "account_exists"
    wrong = requests.post(url + "/api/v1/auth/login", json={"email": "first@example.com", "password": "not the password"}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_login"
    for _ in range(9):
        requests.post(url + "/api/v1/auth/login", json={"email": "first@example.com", "password": "guess"}, timeout=30)
    throttled = requests.post(url + "/api/v1/auth/login", json={"email": "first@example.com", "password": PASSWORD}, timeout=30)
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "login_throttled"
    # The failures live in the database, so a restarted server (like any other on it) still refuses.
    service.stop()
    service.start("--require-api-keys", "--workers", "0", "--audit-checkpoint-seconds", "1")
    url = service.url
    still = requests.post(url + "/api/v1/auth/login", json={"email": "first@example.com", "password": PASSWORD}, timeout=30)
    assert still.status_code == 429 and still.json()["error"]["code"] == "login_throttled"
    other = requests.post(url + "/api/v1/auth/login", json={"email": "second@example.com", "password": PASSWORD}, timeout=30)
    assert other.status_code == 200, other.text
    # An invitation admits at once; a used-up one is refused.
    code = service.admin("invitations", "create", "--uses", "1")
    invited, record = signup(service, "invited@example.com", invitation=code)
    assert record["status"] == "active"
    assert signup(service, "late@example.com", invitation=code, expect=400)[1]["error"]["code"] == "invitation_invalid"
    # The operator admits the first account and limits it.
    service.admin("accounts", "approve", "first@example.com")
    service.admin("accounts", "limits", "first@example.com", "--concurrency", "1", "--credits", "3")
    key = new_key(first, service)["secret"]
    auth = {"Authorization": "Bearer " + key}
    one = requests.post(url + "/api/v1/generations", json={"prompt": "a ball", "steps": 4, "duration": 2}, headers=auth, timeout=30)
    assert one.status_code == 201, one.text
    busy = requests.post(url + "/api/v1/generations", json={"prompt": "a ball", "steps": 4, "duration": 1}, headers=auth, timeout=30)
    assert busy.status_code == 429 and busy.json()["error"]["code"] == "concurrency_limit"
    service.admin("accounts", "limits", "first@example.com", "--concurrency", "5")
    broke = requests.post(url + "/api/v1/generations", json={"prompt": "a ball", "steps": 4, "duration": 2}, headers=auth, timeout=30)
    assert broke.status_code == 429 and broke.json()["error"]["code"] == "insufficient_credits", broke.text
    limits = requests.get(url + "/api/v1/account/limits", headers=auth, timeout=30).json()
    assert limits["credits"] == {**limits["credits"], "granted": 3, "charged": 0, "reserved": 2, "available": 1}
    # Cancelled work is never charged: the reservation simply ends.
    requests.post(f"{url}/api/v1/generations/{one.json()['id']}/cancel", headers=auth, timeout=30)
    limits = requests.get(url + "/api/v1/account/limits", headers=auth, timeout=30).json()
    assert limits["credits"]["reserved"] == 0 and limits["credits"]["charged"] == 0
    # Revoked keys and suspended accounts.
    keys = first.get(url + "/api/v1/account/keys", timeout=30).json()["data"]
    first.delete(f"{url}/api/v1/account/keys/{keys[0]['id']}", timeout=30)
    revoked = requests.get(url + "/api/v1/generations", headers=auth, timeout=30)
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "key_revoked"
    invited_key = new_key(invited, service)["secret"]
    service.admin("accounts", "suspend", "invited@example.com", "--reason", "payment dispute")
    suspended = requests.get(url + "/api/v1/generations", headers={"Authorization": "Bearer " + invited_key}, timeout=30)
    assert suspended.status_code == 403 and "payment dispute" in suspended.json()["error"]["message"]
    assert invited.get(url + "/api/v1/account", timeout=30).status_code == 401  # its sessions ended
    login = requests.post(url + "/api/v1/auth/login", json={"email": "invited@example.com", "password": PASSWORD}, timeout=30)
    assert login.status_code == 403
    # Admin API: an admin account approves the second one.
    admin_session = requests.Session()
    out = subprocess.run([BINARY, "admin", "accounts", "create", "--email", "admin@example.com", "--admin", *service.storage_args()],
                         input=PASSWORD + "\n", capture_output=True, text=True, env=service.env(), cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert admin_session.post(url + "/api/v1/auth/login", json={"email": "admin@example.com", "password": PASSWORD}, timeout=30).ok
    waitlist = admin_session.get(url + "/api/v1/admin/accounts?status=waitlisted", timeout=30).json()["data"]
    assert [a["email"] for a in waitlist] == ["second@example.com"]
    assert admin_session.post(f"{url}/api/v1/admin/accounts/{waitlist[0]['id']}/approve", timeout=30).json()["status"] == "active"
    assert first.get(url + "/api/v1/admin/accounts", timeout=30).status_code == 403

    # Everything above is in the audit log, and the log verifies.
    kinds = audit_kinds(service)
    names = [e["kind"] for e in kinds]
    for kind in ("account.created", "login.failed", "login.succeeded", "key.created", "key.revoked", "generation.requested",
                 "quota.refused", "admin.approve", "admin.suspend", "admin.set_limits", "admin.invitation_created"):
        assert kind in names, (kind, names)
    reasons = {e["data"].get("reason") for e in kinds if e["kind"] in ("auth.refused", "login.failed")}
    assert {"account_waitlisted", "wrong_password", "key_revoked", "account_suspended"} <= reasons, reasons
    assert "first@example.com" not in json.dumps(kinds)  # personal data stays outside the leaves
    time.sleep(2)  # a signed checkpoint covers the entries
    service.stop()
    ok = admin_raw(service, "audit", "verify")
    assert "intact" in ok and "NOT" not in ok, ok

    # Erasing personal data keeps the log intact.
    service.admin("accounts", "erase-personal-data", "second@example.com")
    assert "NOT" not in admin_raw(service, "audit", "verify")

    # One altered entry, then one deleted entry, are both reported.
    saved = snapshot(service)
    run_sql(service, "UPDATE audit_entries SET leaf = REPLACE(leaf, 'login.failed', 'login.succeeded') WHERE seq = "
                     "(SELECT MIN(seq) FROM audit_entries WHERE leaf LIKE '%login.failed%')")
    altered = admin_raw(service, "audit", "verify", expect_failure=True)
    assert "entry" in altered and "was altered" in altered, altered
    restore(service, saved)
    assert "NOT" not in admin_raw(service, "audit", "verify")
    run_sql(service, "DELETE FROM audit_entries WHERE seq = 5")
    deleted = admin_raw(service, "audit", "verify", expect_failure=True)
    assert "entries 5…5 are missing" in deleted and "hash chain is broken" in deleted, deleted
    restore(service, saved)
    # Rewriting an entry and every hash after it still breaks the signed root.
    forge_chain(service)
    forged = admin_raw(service, "audit", "verify", expect_failure=True)
    assert "no longer hash to the root" in forged and "was altered" not in forged, forged


def snapshot(service):
    if service.database:
        out = subprocess.run(["pg_dump", "--data-only", "-t", "audit_entries", service.database], capture_output=True, text=True, check=True)
        return out.stdout
    path = os.path.join(service.tmp, "audit-snapshot")
    os.makedirs(path, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = os.path.join(service.data, "moviola.sqlite" + suffix)
        if os.path.exists(source):
            shutil.copy(source, os.path.join(path, "moviola.sqlite" + suffix))
    return path


def restore(service, saved):
    if service.database:
        run_sql(service, "DELETE FROM audit_entries")
        subprocess.run(["psql", service.database, "-q"], input=saved, text=True, check=True, capture_output=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            target = os.path.join(service.data, "moviola.sqlite" + suffix)
            if os.path.exists(target):
                os.remove(target)
            if os.path.exists(os.path.join(saved, "moviola.sqlite" + suffix)):
                shutil.copy(os.path.join(saved, "moviola.sqlite" + suffix), target)


def query_rows(service, statement):
    if service.database:
        out = subprocess.run(["psql", service.database, "-At", "-F", "\t", "-c", statement], capture_output=True, text=True, check=True)
        return [line.split("\t") for line in out.stdout.splitlines() if line]
    with sqlite3.connect(os.path.join(service.data, "moviola.sqlite")) as db:
        return [[str(v) for v in row] for row in db.execute(statement).fetchall()]


def forge_chain(service):
    """Alters entry 3 and recomputes its hash and every later entry's chain and hash: what an intruder with
    write access to the database could do. Only the signed checkpoint still tells."""
    rows = query_rows(service, "SELECT seq, leaf FROM audit_entries ORDER BY seq")
    previous = None
    for seq, leaf in rows:
        seq = int(seq)
        entry = json.loads(leaf)
        if seq == 3:
            entry["kind"] = "login.succeeded"
        if seq >= 3:
            entry["prev"] = previous
            leaf = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(b"\x00" + leaf.encode()).hexdigest()
            quoted = leaf.replace("'", "''")
            run_sql(service, f"UPDATE audit_entries SET leaf = '{quoted}', leaf_hash = '{digest}' WHERE seq = {seq}")
            previous = digest
        else:
            previous = query_rows(service, f"SELECT leaf_hash FROM audit_entries WHERE seq = {seq}")[0][0]


def admin_raw(service, *args, expect_failure=False):
    out = subprocess.run([BINARY, *args, *service.storage_args()], capture_output=True, text=True, env=service.env(), cwd=ROOT, timeout=120)
    if expect_failure:
        assert out.returncode != 0, out.stdout
    else:
        assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr
