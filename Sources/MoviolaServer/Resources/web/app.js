// Moviola's web page: one small script, no dependencies. Pages are rendered by the server; this
// fills them from the JSON API and keeps what the user typed when something goes wrong.
"use strict";
(function () {
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const examples = JSON.parse(document.getElementById("example-prompts").textContent);
  const lang = document.body.dataset.lang;
  const page = document.body.dataset.page;
  const MAX_PROMPT = 2500;

  function T(key, vars) {
    let text = strings[key] || key;
    for (const [k, v] of Object.entries(vars || {})) text = text.split("{" + k + "}").join(String(v));
    return text;
  }
  const $ = (selector, root) => (root || document).querySelector(selector);
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  async function api(method, path, body, raw) {
    const options = { method, credentials: "same-origin", headers: {} };
    if (raw) { options.body = raw.body; options.headers["Content-Type"] = raw.type || "application/octet-stream"; }
    else if (body !== undefined) { options.body = JSON.stringify(body); options.headers["Content-Type"] = "application/json"; }
    let response;
    try { response = await fetch(path, options); } catch (e) { throw { message: T("error.network") }; }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw { status: response.status, code: error.code, field: error.field, verdict: error.verdict,
              message: error.message || ("HTTP " + response.status) };
    }
    return data;
  }
  function show(form, text, ok) {
    const box = $(".message", form) || $(".message");
    if (!box) return;
    box.textContent = text || "";
    box.classList.toggle("ok", !!ok);
  }
  const params = new URLSearchParams(location.search);
  for (const link of document.querySelectorAll("nav a[data-nav]")) if (link.dataset.nav === page) link.setAttribute("aria-current", "page");
  const logout = $("#logout");
  if (logout) logout.addEventListener("click", async () => { try { await api("POST", "/api/v1/auth/logout"); } finally { location.href = "/login"; } });
  const stateName = (state) => T("state." + state);

  // MARK: log-in, sign-up, waitlist
  function formData(form) { return Object.fromEntries(new FormData(form).entries()); }
  if (page === "login") {
    const form = $("#login-form");
    if (params.get("suspended")) show(form, "suspended");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(form, "");
      try {
        await api("POST", "/api/v1/auth/login", formData(form));
        const next = params.get("next");
        location.href = next && next.startsWith("/") ? decodeURIComponent(next) : "/";
      } catch (e) { show(form, T("common.error") + " " + e.message); }
    });
  }
  if (page === "signup") {
    const form = $("#signup-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(form, "");
      const data = formData(form);
      if (!data.invitation) delete data.invitation;
      try {
        const account = await api("POST", "/api/v1/auth/signup", data);
        location.href = account.status === "waitlisted" ? "/waitlist" : "/create";
      } catch (e) { show(form, T("common.error") + " " + e.message); }
    });
  }
  if (page === "waitlist") {
    const refresh = async () => {
      try {
        const account = await api("GET", "/api/v1/account");
        if (account.status === "active") { $("#waitlist-position").textContent = T("waitlist.admitted"); setTimeout(() => { location.href = "/create"; }, 800); return; }
        $("#waitlist-position").textContent = T("waitlist.position", { n: account.waitlist_position });
      } catch (e) { $("#waitlist-position").textContent = e.message; }
      setTimeout(refresh, 4000);
    };
    refresh();
    const form = $("#redeem-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try { await api("POST", "/api/v1/account/redeem", formData(form)); location.href = "/create"; }
      catch (e) { show(form, T("common.error") + " " + e.message); }
    });
  }

  // MARK: create
  if (page === "create") {
    const form = $("#create-form");
    const prompt = $("#prompt");
    const counter = $("#counter");
    const message = $("#create-message");
    const DRAFT = "moviola.draft";
    let imageData = null;
    let extend = params.get("extend");

    const sliders = [...document.querySelectorAll(".camera input[type=range]")];
    function setCamera(axis, value) {
      for (const s of sliders) { s.value = s.dataset.axis === axis ? value : 0; s.nextElementSibling.textContent = s.value; }
    }
    for (const s of sliders) s.addEventListener("input", () => { setCamera(s.dataset.axis, s.value); changed(); });
    for (const b of document.querySelectorAll("[data-preset]")) b.addEventListener("click", () => {
      const [axis, value] = (b.dataset.preset || ":0").split(":"); setCamera(axis, value); changed();
    });
    const duration = $("#duration");
    duration.addEventListener("input", () => { $("#duration-out").textContent = duration.value; changed(); });
    function aspect() { return form.querySelector("input[name=aspect]:checked").value; }
    function drawShape() { $("#frame-shape").className = "shape r" + aspect().replace(":", "x"); }
    for (const r of form.querySelectorAll("input[name=aspect]")) r.addEventListener("change", () => { drawShape(); changed(); });
    for (const example of examples) {
      const text = example[lang] || example.en;
      $("#examples").append(el("button", { type: "button", onclick: () => { prompt.value = text; changed(); } }, text));
    }
    function count() {
      const n = [...prompt.value].length;
      counter.textContent = T("create.chars", { n, max: MAX_PROMPT });
      counter.classList.toggle("over", n > MAX_PROMPT);
    }
    function body() {
      const data = { prompt: prompt.value.trim(), negative_prompt: $("#negative").value, duration: Number(duration.value) };
      if (!extend) data.aspect_ratio = aspect();
      const camera = sliders.find((s) => Number(s.value) !== 0);
      if (camera) data.camera_control = { [camera.dataset.axis]: Number(camera.value) };
      const seed = $("#seed").value.trim();
      if (seed) data.seed = Number(seed);
      if (imageData) { data.image = imageData; data.consent = $("#consent").checked; }
      if (extend) data.extend = extend;
      return data;
    }
    function saveDraft() {
      const d = body(); delete d.image;
      try { localStorage.setItem(DRAFT, JSON.stringify(d)); } catch (e) { /* private mode */ }
    }
    let timer = null;
    function changed() {
      count(); saveDraft();
      clearTimeout(timer);
      timer = setTimeout(estimate, 500);
    }
    async function estimate() {
      const data = body();
      const verdict = $("#verdict");
      if (!data.prompt || [...data.prompt].length > MAX_PROMPT) { verdict.textContent = ""; verdict.className = "verdict"; return; }
      try {
        const result = await api("POST", "/api/v1/estimate", data);
        const allowed = result.policy && result.policy.allowed;
        verdict.className = "verdict " + (allowed ? "allowed" : "refused");
        verdict.textContent = allowed
          ? T("create.allowed") + " " + T("create.estimate", { q: result.queue_position, s: Math.round(result.eta_seconds) })
          : T("create.refused") + " " + (result.policy.message || "");
      } catch (e) { verdict.className = "verdict refused"; verdict.textContent = e.message; }
    }
    prompt.addEventListener("input", changed);
    $("#negative").addEventListener("input", changed);
    $("#seed").addEventListener("input", changed);

    const file = $("#image");
    function setImage(dataURL) {
      imageData = dataURL;
      $("#image-img").src = dataURL;
      $("#image-preview").hidden = !dataURL;
      changed();
    }
    file.addEventListener("change", () => {
      message.textContent = "";
      const chosen = file.files[0];
      if (!chosen) return;
      if (!["image/png", "image/jpeg"].includes(chosen.type)) {
        message.textContent = T("error.imagetype");
        file.value = "";
        return;
      }
      const reader = new FileReader();
      reader.onload = () => setImage(reader.result);
      reader.readAsDataURL(chosen);
    });
    $("#image-clear").addEventListener("click", () => { file.value = ""; setImage(null); });

    // Prefill: a draft, or what a library action asked for.
    let restored = null;
    try { restored = JSON.parse(localStorage.getItem(DRAFT) || "null"); } catch (e) { restored = null; }
    const fill = (d) => {
      if (d.prompt !== undefined) prompt.value = d.prompt;
      if (d.negative_prompt) $("#negative").value = d.negative_prompt;
      if (d.duration) { duration.value = d.duration; $("#duration-out").textContent = d.duration; }
      if (d.aspect_ratio) { const r = form.querySelector(`input[name=aspect][value="${d.aspect_ratio}"]`); if (r) r.checked = true; }
      if (d.seed !== undefined) $("#seed").value = d.seed;
      if (d.camera_control) { const [axis, value] = Object.entries(d.camera_control)[0]; setCamera(axis, value); }
    };
    if (restored && !params.get("prompt")) fill(restored);
    if (params.get("prompt")) prompt.value = params.get("prompt");
    if (params.get("seed")) $("#seed").value = params.get("seed");
    if (extend) { const note = $("#extend-note"); note.hidden = false; note.textContent = T("create.extending", { id: extend }); }
    const firstFrame = params.get("first_frame");
    if (firstFrame) {
      fetch(`/api/v1/generations/${encodeURIComponent(firstFrame)}/thumbnail`, { credentials: "same-origin" })
        .then((r) => r.ok ? r.blob() : Promise.reject())
        .then((blob) => { const reader = new FileReader(); reader.onload = () => setImage(reader.result); reader.readAsDataURL(blob); })
        .catch(() => { message.textContent = T("error.imagetype"); });
    }
    drawShape(); count();
    if (prompt.value) estimate();

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.textContent = "";
      const data = body();
      if (!data.prompt) { message.textContent = T("error.emptyprompt"); prompt.focus(); return; }
      if ([...data.prompt].length > MAX_PROMPT) { message.textContent = T("error.longprompt", { max: MAX_PROMPT }); prompt.focus(); return; }
      const button = $("#generate");
      button.disabled = true;
      try {
        const generation = await api("POST", "/api/v1/generations", data);
        try { localStorage.removeItem(DRAFT); } catch (e) { /* ignore */ }
        location.href = "/generations/" + generation.id;
      } catch (e) {
        message.textContent = (e.code === "policy_refused" ? T("create.refused") + " " : T("common.error") + " ") + e.message;
        button.disabled = false;
      }
    });
  }

  // MARK: one generation
  if (page === "generation") {
    const id = decodeURIComponent(location.pathname.split("/").pop());
    const base = "/api/v1/generations/" + encodeURIComponent(id);
    const status = $("#gen-status"), step = $("#gen-step"), bar = $("#bar"), cancel = $("#cancel");
    let source = null;
    function finish(g) {
      if (source) { source.close(); source = null; }
      cancel.hidden = true;
      if (g.state === "succeeded") {
        bar.style.width = "100%";
        status.textContent = T("progress.done");
        step.textContent = "";
        $("#result").hidden = false;
        $("#player").src = base + "/video";
        $("#download").href = base + "/video";
        $("#receipt").href = base + "/receipt";
        $("#extend").href = "/create?extend=" + encodeURIComponent(id);
        $("#firstframe").href = "/create?first_frame=" + encodeURIComponent(id);
        const seed = g.settings && g.settings.seed;
        $("#reuseseed").href = "/create?seed=" + seed + "&prompt=" + encodeURIComponent(g.prompt);
      } else if (g.state === "cancelled") {
        status.textContent = T("progress.cancelled");
      } else if (g.state === "failed") {
        status.textContent = T("progress.failed") + " " + (g.error ? g.error.message : "");
      }
    }
    function progress(data) {
      const total = data.total_steps || 0;
      const n = data.step || 0;
      if (data.stage === "denoising" && total) {
        bar.style.width = Math.round(n / total * 90) + "%";
        step.textContent = T("progress.step", { n, total }) + (data.eta_seconds !== undefined ? " · " + T("progress.eta", { s: data.eta_seconds }) : "");
      } else if (data.stage === "decoding" || data.stage === "encoding_video" || data.stage === "publishing") {
        bar.style.width = "95%";
      }
      if (data.stage) status.textContent = T("progress.stage." + data.stage);
    }
    async function start() {
      let g;
      try { g = await api("GET", base); } catch (e) { show(null, e.message); return; }
      $("#gen-prompt").textContent = g.prompt;
      status.textContent = stateName(g.state);
      if (["succeeded", "failed", "cancelled"].includes(g.state)) { finish(g); return; }
      source = new EventSource(base + "/events");
      source.addEventListener("queue", (e) => {
        const d = JSON.parse(e.data);
        status.textContent = T("progress.queued", { q: d.queue_position, s: d.eta_seconds });
      });
      source.addEventListener("started", () => { status.textContent = T("progress.stage.starting"); });
      source.addEventListener("progress", (e) => progress(JSON.parse(e.data)));
      source.addEventListener("preview", (e) => {
        const d = JSON.parse(e.data);
        const previews = $("#previews");
        previews.append(el("img", { src: "data:image/jpeg;base64," + d.jpeg_base64, alt: T("progress.preview") + " " + d.step }));
        while (previews.children.length > 6) previews.firstChild.remove();
      });
      source.addEventListener("cancelling", () => { status.textContent = T("progress.cancelling"); });
      source.addEventListener("result", (e) => finish(JSON.parse(e.data)));
      source.onerror = () => { /* EventSource reconnects with Last-Event-ID by itself */ };
    }
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      status.textContent = T("progress.cancelling");
      try {
        const g = await api("POST", base + "/cancel");
        if (g.state === "cancelled") finish(g);
      } catch (e) { show(null, e.message); cancel.disabled = false; }
    });
    $("#delete").addEventListener("click", async () => {
      if (!confirm(T("video.confirmdelete"))) return;
      try { await api("DELETE", base); location.href = "/library"; } catch (e) { show(null, e.message); }
    });
    start();
  }

  // MARK: library
  if (page === "library") {
    const gallery = $("#gallery"), more = $("#more"), filter = $("#state-filter");
    let cursor = null;
    async function load(reset) {
      if (reset) { gallery.textContent = ""; cursor = null; }
      const query = new URLSearchParams({ limit: "24" });
      if (filter.value) query.set("state", filter.value);
      if (cursor) query.set("after", cursor);
      try {
        const page = await api("GET", "/api/v1/generations?" + query);
        for (const g of page.data) {
          const picture = g.state === "succeeded"
            ? el("img", { src: `/api/v1/generations/${g.id}/thumbnail`, alt: g.prompt, loading: "lazy" })
            : el("div", { class: "placeholder" }, stateName(g.state));
          gallery.append(el("a", { class: "tile", href: "/generations/" + g.id, "data-id": g.id }, picture,
            el("p", {}, el("span", { class: "badge " + g.state }, stateName(g.state)), " ", g.prompt)));
        }
        cursor = page.next_cursor;
        more.hidden = !page.has_more;
        $("#library-empty").hidden = gallery.children.length > 0;
      } catch (e) { show(null, e.message); }
    }
    filter.addEventListener("change", () => load(true));
    more.addEventListener("click", () => load(false));
    load(true);
  }

  // MARK: verify
  if (page === "verify") {
    const form = $("#verify-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(form, "");
      const chosen = $("#verify-file").files[0];
      if (!chosen) { show(form, T("verify.file")); return; }
      try {
        const r = await api("POST", "/api/v1/verify", undefined, { body: chosen, type: chosen.type });
        $("#report").hidden = false;
        $("#report-c2pa").textContent = r.c2pa.state + (r.c2pa.failures.length ? " — " + r.c2pa.failures.join(", ") : "") +
          (r.c2pa.softwareAgent ? " · " + r.c2pa.softwareAgent : "");
        $("#report-aigc").textContent = r.aigc.present
          ? `ProduceID ${r.aigc.produceId} · ${r.aigc.contentProducer} · ${T("verify.signature")} ${r.aigc.signatureValid ? T("verify.valid") : T("verify.invalid")}`
          : (r.aigc.error || T("verify.noaigc"));
        $("#report-watermark").textContent = r.watermark.detected
          ? T("verify.detected", { id: r.watermark.produceId, c: r.watermark.confidence }) : T("verify.notdetected");
      } catch (e) { show(form, T("common.error") + " " + e.message); $("#report").hidden = true; }
    });
  }

  // MARK: account
  if (page === "account") {
    const summary = $("#account-summary");
    async function refresh() {
      try {
        const account = await api("GET", "/api/v1/account");
        summary.textContent = [account.email, account.role, account.status].filter(Boolean).join(" · ");
        const l = account.limits;
        const usage = $("#usage");
        usage.textContent = "";
        const unmetered = T("account.unmetered");
        usage.append(el("li", {}, T("account.concurrency", { used: l.concurrency.in_flight, limit: l.concurrency.limit ?? unmetered })));
        usage.append(el("li", {}, T("account.daily", { used: l.daily.used, limit: l.daily.limit ?? unmetered })));
        usage.append(el("li", { id: "credits" }, T("account.credits", { available: l.credits.available ?? unmetered, granted: l.credits.granted ?? unmetered, reserved: l.credits.reserved })));
        $("#realname-state").textContent = T("account.realname." + (account.real_name || "none"));
      } catch (e) { show(null, e.message); }
      try {
        const keys = await api("GET", "/api/v1/account/keys");
        const body = $("#keys tbody");
        body.textContent = "";
        for (const k of keys.data) {
          body.append(el("tr", {}, el("td", {}, k.name), el("td", {}, k.access_key || (k.prefix + "…")), el("td", {}, k.type),
            el("td", {}, k.revoked_at ? T("account.revoked")
              : el("button", { type: "button", class: "danger", onclick: async () => { await api("DELETE", "/api/v1/account/keys/" + k.id); refresh(); } }, T("account.revoke")))));
        }
      } catch (e) { /* operator access has no account keys */ }
    }
    $("#key-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const key = await api("POST", "/api/v1/account/keys", formData(event.target));
        $("#new-secret").hidden = false;
        $("#secret-value").textContent = key.secret || (key.access_key + "  " + key.secret_key);
        refresh();
      } catch (e) { show(null, e.message); }
    });
    $("#copy-secret").addEventListener("click", async () => {
      const text = $("#secret-value").textContent;
      try { await navigator.clipboard.writeText(text); } catch (e) {
        const range = document.createRange(); range.selectNodeContents($("#secret-value"));
        getSelection().removeAllRanges(); getSelection().addRange(range); document.execCommand("copy");
      }
      show(null, T("account.copied"), true);
    });
    $("#realname-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try { await api("POST", "/api/v1/account/real-name", formData(event.target)); refresh(); show(null, ""); }
      catch (e) { show(null, T("common.error") + " " + e.message); }
    });
    refresh();
  }

  // MARK: admin
  if (page === "admin") {
    const action = (label, fn, danger) => el("button", { type: "button", class: danger ? "danger" : "", onclick: async () => {
      try { await fn(); refresh(); } catch (e) { show(null, e.message); } } }, label);
    function fillTable(selector, rows) {
      const body = $(selector + " tbody");
      body.textContent = "";
      if (!rows.length) body.append(el("tr", {}, el("td", {}, T("admin.none"))));
      for (const cells of rows) body.append(el("tr", {}, ...cells.map((c) => el("td", {}, c))));
    }
    async function refresh() {
      try {
        const waiting = await api("GET", "/api/v1/admin/accounts?status=waitlisted");
        fillTable("#waitlist", waiting.data.map((a) => [String(a.waitlist_position), a.email,
          action(T("admin.approve"), () => api("POST", `/api/v1/admin/accounts/${a.id}/approve`))]));
        const invitations = await api("GET", "/api/v1/admin/invitations");
        fillTable("#invitations", invitations.data.map((i) => [el("code", {}, i.code), `${i.uses}/${i.max_uses}`, i.revoked_at ? "revoked" : ""]));
        const accounts = await api("GET", "/api/v1/admin/accounts");
        const me = (await api("GET", "/api/v1/account")).id;
        fillTable("#accounts", accounts.data.filter((a) => a.status !== "waitlisted").map((a) => [a.email, a.role, a.status,
          a.id === me ? "" : a.status === "suspended" ? action(T("admin.reinstate"), () => api("POST", `/api/v1/admin/accounts/${a.id}/reinstate`))
            : action(T("admin.suspend"), () => api("POST", `/api/v1/admin/accounts/${a.id}/suspend`, { reason: "suspended by an operator" }), true),
          a.real_name === "pending" ? action(T("admin.verifyname"), () => api("POST", `/api/v1/admin/accounts/${a.id}/verify-real-name`)) : ""]));
        const running = await api("GET", "/api/v1/generations?all=true&state=running&limit=50");
        const queued = await api("GET", "/api/v1/generations?all=true&state=queued&limit=50");
        fillTable("#queue", [...running.data, ...queued.data].map((g) => [g.id, stateName(g.state), g.prompt,
          action(T("progress.cancel"), () => api("POST", `/api/v1/generations/${g.id}/cancel`), true)]));
        const verdicts = await api("GET", "/api/v1/admin/verdicts");
        fillTable("#verdicts", verdicts.data.map((v) => [v.created_at, v.account, v.action, v.category || "", v.prompt,
          action(T("admin.reviewed"), () => api("POST", `/api/v1/admin/verdicts/${v.id}/reviewed`)),
          action(T("admin.escalate"), () => api("POST", `/api/v1/admin/verdicts/${v.id}/escalated`), true)]));
      } catch (e) { show(null, e.message); }
    }
    $("#invite-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try { await api("POST", "/api/v1/admin/invitations", { max_uses: Number(formData(event.target).max_uses) }); refresh(); }
      catch (e) { show(null, e.message); }
    });
    refresh();
    setInterval(refresh, 10000);
  }
})();
