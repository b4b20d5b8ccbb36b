"""The web page in a real headless browser (Debian's chromium and chromedriver, Selenium): sign up, be
admitted, generate and watch, play, download, cancel mid-run, verify, keys, admin; bad input keeps what
was typed. Screenshots of every page at desktop and phone width go to test-artifacts/web/."""
import glob
import json
import os
import subprocess
import tempfile
import time

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BINARY, ROOT, Service

PASSWORD = "correct horse battery"
ARTIFACTS = os.path.join(ROOT, "test-artifacts", "web")
DESKTOP, PHONE = (1280, 900), (390, 844)


def browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                 "--window-size=%d,%d" % DESKTOP):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture
def site():
    tmp = tempfile.mkdtemp(prefix="moviola-web-")
    service = Service("sqlite", tmp)
    service.start("--require-api-keys", "--signup", "waitlist", "--webhook-allow-private")
    out = subprocess.run([BINARY, "admin", "accounts", "create", "--email", "admin@example.com", "--admin", *service.storage_args()],
                         input=PASSWORD + "\n", capture_output=True, text=True, env=service.env(), cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    os.makedirs(ARTIFACTS, exist_ok=True)
    downloads = os.path.join(tmp, "downloads")
    os.makedirs(downloads)
    user, admin = browser(downloads), browser(os.path.join(tmp, "admin-downloads"))
    yield service, user, admin, downloads
    for driver in (user, admin):
        driver.quit()
    service.close()


def wait(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def text_of(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector).text


def shoot(driver, name):
    """Screenshots at desktop and phone width; the phone view must not scroll sideways."""
    for label, (w, h) in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.set_window_size(w, h)
        time.sleep(0.3)
        driver.save_screenshot(os.path.join(ARTIFACTS, f"{name}-{label}.png"))
        if label == "phone":
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} scrolls sideways on a phone by {overflow}px"
    driver.set_window_size(*DESKTOP)


def api_session(url):
    session = requests.Session()
    assert session.post(url + "/api/v1/auth/login", json={"email": "admin@example.com", "password": PASSWORD}, timeout=30).ok
    return session


def fill(driver, selector, value):
    field = driver.find_element(By.CSS_SELECTOR, selector)
    field.clear()
    field.send_keys(value)
    return field


def test_sign_up_admit_generate_watch_play_download_cancel_verify(site):
    service, user, admin, downloads = site
    url = service.url

    # Sign up: bad input first; what was typed stays.
    user.get(url + "/signup")
    shoot(user, "signup")
    fill(user, "input[name=email]", "viewer@example.com")
    fill(user, "input[name=password]", "short")
    user.find_element(By.CSS_SELECTOR, "#signup-form button").click()
    wait(user, lambda d: "10" in text_of(d, "#signup-form .message"))
    assert user.find_element(By.CSS_SELECTOR, "input[name=email]").get_attribute("value") == "viewer@example.com"
    fill(user, "input[name=password]", PASSWORD)
    user.find_element(By.CSS_SELECTOR, "#signup-form button").click()
    wait(user, EC.url_contains("/waitlist"))
    wait(user, lambda d: "number 1" in text_of(d, "#waitlist-position"))
    shoot(user, "waitlist")

    # An admin admits the account from the admin page.
    admin.get(url + "/login")
    shoot(admin, "login")
    fill(admin, "input[name=email]", "admin@example.com")
    fill(admin, "input[name=password]", "wrong password!")
    admin.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait(admin, lambda d: text_of(d, "#login-form .message") != "")
    fill(admin, "input[name=password]", PASSWORD)
    admin.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait(admin, EC.url_contains("/create"))
    admin.get(url + "/admin")
    approve = wait(admin, lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, "#waitlist button")
                                     if "viewer@example.com" in b.find_element(By.XPATH, "./../..").text] or False)
    shoot(admin, "admin")
    approve[0].click()
    # The waiting page notices by itself and moves on.
    wait(user, EC.url_contains("/create"), timeout=30)

    # Create: empty, over-long, wrong image type and refused prompts each say what is wrong and keep the text.
    message = lambda d: text_of(d, "#create-message")
    user.find_element(By.ID, "generate").click()
    wait(user, lambda d: "prompt" in message(d).lower())
    long_text = "a red ball " * 230
    prompt = user.find_element(By.ID, "prompt")
    user.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", prompt, long_text)
    assert "over" in user.find_element(By.ID, "counter").get_attribute("class")
    user.find_element(By.ID, "generate").click()
    wait(user, lambda d: "2500" in message(d))
    assert user.find_element(By.ID, "prompt").get_attribute("value") == long_text
    bad_file = os.path.join(service.tmp, "notes.txt")
    open(bad_file, "w").write("not an image")
    user.find_element(By.ID, "image").send_keys(bad_file)
    wait(user, lambda d: "PNG" in message(d))
    fill(user, "#prompt", "a naked child on a beach")
    wait(user, lambda d: "refused" in d.find_element(By.ID, "verdict").get_attribute("class"))
    user.find_element(By.ID, "generate").click()
    wait(user, lambda d: "policy" in message(d).lower() or "refused" in message(d).lower())
    assert user.find_element(By.ID, "prompt").get_attribute("value") == "a naked child on a beach"

    # The page says plainly what the bundled model cannot do yet (in Chinese on the Chinese page, below).
    assert "moviola-mini" in text_of(user, "#model-limits") and "does not yet follow prompts well" in text_of(user, "#model-limits")

    # A real clip: the verdict and estimate show before submitting.
    fill(user, "#prompt", "three yellow stars rotate slowly on a night sky")
    user.execute_script("const d = document.getElementById('duration'); d.value = 1; d.dispatchEvent(new Event('input'))")
    user.find_element(By.CSS_SELECTOR, "input[name=aspect][value='9:16']").click()
    wait(user, lambda d: "allowed" in d.find_element(By.ID, "verdict").get_attribute("class"))
    assert "Queue position" in text_of(user, "#verdict")
    shoot(user, "create")
    user.find_element(By.ID, "generate").click()
    wait(user, EC.url_contains("/generations/"))
    widths, steps = set(), set()
    deadline = time.time() + 240
    while time.time() < deadline:
        widths.add(user.execute_script("return document.getElementById('bar').style.width"))
        steps.add(text_of(user, "#gen-step"))
        if user.find_element(By.ID, "result").get_attribute("hidden") is None:
            break
        time.sleep(0.05)
    assert user.find_element(By.ID, "result").is_displayed(), text_of(user, "#gen-status")
    moving = sorted(int(w.rstrip("%")) for w in widths if w and w.endswith("%"))
    assert len([w for w in moving if 0 < w < 100]) >= 2, f"the progress bar did not move: {moving}"
    assert any(s.startswith("Step ") for s in steps), steps
    shoot(user, "generation")
    # Play it.
    playing = user.execute_script("""
        const v = document.getElementById('player'); v.muted = true;
        return v.play().then(() => new Promise(r => setTimeout(() => r(v.currentTime), 800))).catch(e => 'error: ' + e);""")
    assert isinstance(playing, (int, float)) and playing > 0, playing
    # Download it.
    user.find_element(By.ID, "download").click()
    deadline = time.time() + 30
    while time.time() < deadline and not glob.glob(os.path.join(downloads, "*.mp4")):
        time.sleep(0.2)
    files = glob.glob(os.path.join(downloads, "*.mp4"))
    assert files, "nothing was downloaded"
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "json", files[0]],
                                      capture_output=True, text=True, check=True).stdout)["streams"][0]
    assert probe["height"] > probe["width"]

    # "Use as first frame" and "extend this video" prefill the create page.
    first_id = user.current_url.rsplit("/", 1)[1]
    user.find_element(By.ID, "firstframe").click()
    wait(user, lambda d: d.find_element(By.ID, "image-preview").is_displayed())
    user.get(f"{url}/generations/{first_id}")
    wait(user, lambda d: d.find_element(By.ID, "extend").is_displayed())
    user.find_element(By.ID, "extend").click()
    wait(user, lambda d: first_id in text_of(d, "#extend-note"))
    fill(user, "#prompt", "the stars keep rotating")
    user.execute_script("const d = document.getElementById('duration'); d.value = 1; d.dispatchEvent(new Event('input'))")
    user.find_element(By.ID, "generate").click()
    wait(user, EC.url_contains("/generations/"))
    wait(user, lambda d: d.find_element(By.ID, "result").is_displayed(), timeout=240)
    extended = api_session(url).get(url + "/api/v1/generations/" + user.current_url.rsplit("/", 1)[1], timeout=30).json()
    assert extended["state"] == "succeeded" and extended["settings"]["width"] == probe["width"]

    # Library: the clip with its thumbnail.
    user.get(url + "/library")
    tile = wait(user, lambda d: d.find_elements(By.CSS_SELECTOR, ".tile img") or False)[0]
    wait(user, lambda d: d.execute_script("return arguments[0].naturalWidth", tile) > 0)
    shoot(user, "library")

    # A second generation, cancelled while it runs.
    user.get(url + "/create")
    fill(user, "#prompt", "a white ball bounces on green grass")
    user.execute_script("const d = document.getElementById('duration'); d.value = 10; d.dispatchEvent(new Event('input'))")
    user.find_element(By.ID, "generate").click()
    wait(user, EC.url_contains("/generations/"))
    wait(user, lambda d: text_of(d, "#gen-step").startswith("Step "), timeout=120)
    user.find_element(By.ID, "cancel").click()
    wait(user, lambda d: text_of(d, "#gen-status") == "Cancelled.", timeout=30)
    cancelled_id = user.current_url.rsplit("/", 1)[1]
    api = api_session(url)
    assert api.get(f"{url}/api/v1/generations/{cancelled_id}", timeout=30).json()["state"] == "cancelled"

    # Verify: the downloaded file's provenance, as `moviola verify` reports it.
    user.get(url + "/verify")
    user.find_element(By.ID, "verify-file").send_keys(files[0])
    user.find_element(By.CSS_SELECTOR, "#verify-form button").click()
    wait(user, lambda d: d.find_element(By.ID, "report").is_displayed(), timeout=60)
    assert text_of(user, "#report-c2pa").startswith("Trusted")
    assert "ProduceID MV-" in text_of(user, "#report-watermark") or "MV-" in text_of(user, "#report-watermark")
    assert "valid" in text_of(user, "#report-aigc")
    shoot(user, "verify")
    user.find_element(By.ID, "verify-file").send_keys(bad_file)
    user.find_element(By.CSS_SELECTOR, "#verify-form button").click()
    wait(user, lambda d: "not a video" in text_of(d, "#verify-form .message"), timeout=30)

    # Account: a key is shown once and can be revoked; usage counts only the finished clip.
    user.get(url + "/account")
    wait(user, lambda d: "Credits" in text_of(d, "#usage"))
    assert "1 reserved" not in text_of(user, "#usage")
    user.find_element(By.CSS_SELECTOR, "#key-form button").click()
    wait(user, lambda d: text_of(d, "#secret-value").startswith("mvk_"))
    secret = text_of(user, "#secret-value")
    assert requests.get(url + "/api/v1/generations", headers={"Authorization": "Bearer " + secret}, timeout=30).status_code == 200
    shoot(user, "account")
    wait(user, lambda d: d.find_elements(By.CSS_SELECTOR, "#keys button.danger") or False)[0].click()
    wait(user, lambda d: "revoked" in text_of(d, "#keys"))
    assert requests.get(url + "/api/v1/generations", headers={"Authorization": "Bearer " + secret}, timeout=30).status_code == 401

    # Chinese: the interface switches and leaves no untranslated keys.
    for path in ("/create", "/library", "/verify", "/account"):
        user.get(url + path + "?lang=zh")
        body = wait(user, lambda d: d.find_element(By.TAG_NAME, "body"))
        time.sleep(0.5)
        assert "创作" in text_of(user, "nav")
        leftovers = [w for w in body.text.split() if w.count(".") == 1 and w.split(".")[0] in
                     {"create", "nav", "progress", "video", "library", "verify", "account", "admin", "common", "state", "error"}]
        assert not leftovers, leftovers
        if path == "/create":
            assert "关于模型 moviola-mini" in text_of(user, "#model-limits") and "还不能很好地遵循提示词" in text_of(user, "#model-limits")
        shoot(user, "zh-" + path.strip("/"))
    user.get(url + "/create?lang=en")
    user.find_element(By.ID, "logout").click()
    wait(user, EC.url_contains("/login"))
