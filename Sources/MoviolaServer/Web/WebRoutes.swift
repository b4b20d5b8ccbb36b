import Foundation
import HTTPTypes
import Hummingbird
import MoviolaProvenance
import MoviolaStore
import NIOCore

/// The web page: server-rendered pages in English or Chinese, with one small script (no build step)
/// that talks to the same JSON API as every other client.
extension Routes {
    func registerWeb(on router: Router<MoviolaRequestContext>) {
        router.get("/static/:file") { _, context in
            let name = try context.parameters.require("file")
            guard ["app.js", "app.css"].contains(name),
                  let url = Bundle.module.url(forResource: (name as NSString).deletingPathExtension, withExtension: (name as NSString).pathExtension,
                                              subdirectory: "Resources/web"),
                  let data = try? Data(contentsOf: url) else { return Response(status: .notFound) }
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
            response.headers[.contentType] = name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8"
            response.headers[.cacheControl] = "no-cache"
            return response
        }
        router.get("/") { request, _ in await page(request) { principal, _ in principal == nil ? "/login" : "/create" } }
        for name in ["create", "library", "verify", "account", "admin", "waitlist"] {
            router.get("/\(name)") { request, _ in await page(request, name) }
        }
        router.get("/generations/:id") { request, _ in await page(request, "generation") }
        router.get("/login") { request, _ in await page(request, "login", public: true) }
        router.get("/signup") { request, _ in await page(request, "signup", public: true) }

        router.get("/api/v1/generations/:id/thumbnail") { request, context in await handle { try await thumbnail(request, context) } }
        router.post("/api/v1/verify") { request, context in await handle { try await verifyUpload(request, context) } }
        router.post("/api/v1/admin/verdicts/:id/:decision") { request, context in
            await handle {
                let admin = try await access.admin(request)
                let id = try context.parameters.require("id")
                let decision = try context.parameters.require("decision")
                guard ["reviewed", "escalated"].contains(decision) else {
                    throw ServiceError(.notFound, "decide reviewed or escalated")
                }
                guard try await store.reviewVerdict(id: id, state: decision) else { throw ServiceError(.notFound, "no verdict \(id) waiting for review") }
                try await store.audit("admin.verdict_\(decision)", actor: admin.account, subject: id)
                return try Self.json(["id": id, "review_state": decision])
            }
        }
        router.get("/api/v1/admin/verdicts") { request, _ in
            await handle {
                _ = try await access.admin(request)
                let pending = request.uri.queryParameters["pending"] != "false"
                let rows = try await store.verdicts(pendingOnly: pending, limit: 100)
                return try Self.json(["data": rows.map { ["id": $0.id, "account": $0.account, "action": $0.action, "category": $0.category as Any? ?? NSNull(),
                                                          "prompt": $0.prompt, "created_at": JSON.iso8601($0.createdAt)] as [String: Any] }])
            }
        }
    }

    /// The interface language: `?lang=`, then the cookie, then Accept-Language.
    func language(_ request: Request) -> (String, setCookie: Bool) {
        if let chosen = request.uri.queryParameters["lang"].map(String.init), WebStrings.languages.contains(chosen) { return (chosen, true) }
        if let cookie = AccessControl.cookie(request, "moviola_lang"), WebStrings.languages.contains(cookie) { return (cookie, false) }
        let accept = request.headers[.acceptLanguage]?.lowercased() ?? ""
        return (accept.hasPrefix("zh") ? "zh" : "en", false)
    }

    /// Serves a page shell; pages other than log-in and sign-up need a session (or the open loopback operator).
    func page(_ request: Request, _ name: String = "", public isPublic: Bool = false,
              redirect: ((Principal?, String) -> String?)? = nil) async -> Response {
        let (lang, setCookie) = language(request)
        var principal: Principal?
        do { principal = try await access.principal(request, admitted: false) } catch {}
        if let redirect, let target = redirect(principal, lang) { return Self.redirect(target) }
        if !isPublic {
            guard let who = principal else { return Self.redirect("/login?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
            if who.record?.status == .waitlisted, name != "waitlist", name != "account" { return Self.redirect("/waitlist") }
            if who.record?.status == .suspended { return Self.redirect("/login?suspended=1") }
            if name == "admin", !who.isAdmin { return Self.redirect("/create") }
        }
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: shell(name, lang: lang, principal: principal))))
        response.headers[.contentType] = "text/html; charset=utf-8"
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        if setCookie { response.headers[.setCookie] = "moviola_lang=\(lang); Path=/; SameSite=Lax; Max-Age=31536000" }
        return response
    }

    static func redirect(_ location: String) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = location
        return response
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    func shell(_ name: String, lang: String, principal: Principal?) -> String {
        func t(_ key: String) -> String { Self.escape(WebStrings.text(key, lang)) }
        var nav = ""
        if let principal {
            let admitted = principal.record?.status != .waitlisted
            if admitted {
                nav += "<a href=\"/create\" data-nav=\"create\">\(t("nav.create"))</a><a href=\"/library\" data-nav=\"library\">\(t("nav.library"))</a>"
            }
            nav += "<a href=\"/verify\" data-nav=\"verify\">\(t("nav.verify"))</a><a href=\"/account\" data-nav=\"account\">\(t("nav.account"))</a>"
            if principal.isAdmin { nav += "<a href=\"/admin\" data-nav=\"admin\">\(t("nav.admin"))</a>" }
            if principal.via == .session { nav += "<button type=\"button\" id=\"logout\" class=\"link\">\(t("nav.logout"))</button>" }
        } else {
            nav += "<a href=\"/login\" data-nav=\"login\">\(t("nav.login"))</a><a href=\"/signup\" data-nav=\"signup\">\(t("nav.signup"))</a>"
        }
        let other = lang == "zh" ? "en" : "zh"
        nav += "<a href=\"?lang=\(other)\" id=\"lang\" lang=\"\(other)\">\(t("nav.language"))</a>"
        let strings = (try? JSON.data(WebStrings.scriptTable(lang))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let examples = (try? JSON.data(Self.examples)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return """
            <!doctype html>
            <html lang="\(lang == "zh" ? "zh-CN" : "en")">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Moviola</title>
            <link rel="stylesheet" href="/static/app.css">
            </head>
            <body data-page="\(name)" data-lang="\(lang)" data-role="\(principal?.isAdmin == true ? "admin" : "user")">
            <header><a class="brand" href="/">Moviola</a><nav>\(nav)</nav></header>
            <main id="main">\(body(name, lang: lang, t: t))</main>
            <footer>\(t("label.notice"))</footer>
            <script type="application/json" id="strings">\(strings.replacingOccurrences(of: "</", with: "<\\/"))</script>
            <script type="application/json" id="example-prompts">\(examples.replacingOccurrences(of: "</", with: "<\\/"))</script>
            <script src="/static/app.js"></script>
            </body>
            </html>
            """
    }

    /// Prompts in the bundled model's vocabulary.
    static let examples: [[String: String]] = [
        ["en": "three yellow stars rotate slowly on a night sky", "zh": "三颗黄色的星星在夜空中缓缓旋转"],
        ["en": "a red car drives from left to right, the camera slowly zooms in", "zh": "一辆红色的汽车从左向右行驶，镜头缓慢拉近"],
        ["en": "two blue fish swim to the right under water", "zh": "两条蓝色的鱼在水下向右游"],
        ["en": "a white ball bounces on green grass", "zh": "一个白色的球在绿色的草地上弹跳"],
        ["en": "an orange sun rises over a sky gradient", "zh": "橙色的太阳在渐变的天空中升起"],
    ]

    /// The default model's `limits` sentence in the page's language (English where its card has no
    /// Chinese one), so nobody mistakes a preview model's blobs for a fault of theirs.
    func modelLimitsNote(lang: String) -> String {
        guard let model = plane.catalogue.models.first, let card = model.card, let english = card.limits else { return "" }
        var (sentence, sentenceLang) = (english, "en")
        if lang == "zh", let chinese = card.limitsZH { (sentence, sentenceLang) = (chinese, "zh-CN") }
        let label = Self.escape(WebStrings.text("create.modellimits", lang)).replacingOccurrences(of: "{model}", with: Self.escape(model.name))
        return "<p id=\"model-limits\" class=\"note\">\(label) <span lang=\"\(sentenceLang)\">\(Self.escape(sentence))</span></p>"
    }

    func body(_ name: String, lang: String, t: (String) -> String) -> String {
        switch name {
        case "login":
            return """
                <section class="card narrow"><h1>\(t("login.title"))</h1>
                <form id="login-form" novalidate>
                <label>\(t("login.email"))<input name="email" type="email" autocomplete="username" required></label>
                <label>\(t("login.password"))<input name="password" type="password" autocomplete="current-password" required></label>
                <p class="message" role="alert"></p>
                <button type="submit">\(t("login.submit"))</button>
                </form><p>\(t("login.noaccount")) <a href="/signup">\(t("nav.signup"))</a></p></section>
                """
        case "signup":
            return """
                <section class="card narrow"><h1>\(t("signup.title"))</h1>
                <form id="signup-form" novalidate>
                <label>\(t("login.email"))<input name="email" type="email" autocomplete="username" required></label>
                <label>\(t("login.password"))<input name="password" type="password" autocomplete="new-password" minlength="10" required><small>\(t("signup.passwordhint"))</small></label>
                <label>\(t("signup.invitation"))<input name="invitation" autocomplete="off"></label>
                <p class="message" role="alert"></p>
                <button type="submit">\(t("signup.submit"))</button>
                </form><p>\(t("signup.haveaccount")) <a href="/login">\(t("nav.login"))</a></p></section>
                """
        case "waitlist":
            return """
                <section class="card narrow"><h1>\(t("waitlist.title"))</h1>
                <p id="waitlist-position" class="big"></p>
                <form id="redeem-form"><label>\(t("waitlist.redeem"))<input name="invitation" autocomplete="off"></label>
                <p class="message" role="alert"></p><button type="submit">\(t("waitlist.redeemsubmit"))</button></form></section>
                """
        case "create":
            let axes = ["horizontal", "vertical", "pan", "tilt", "roll", "zoom"].map { axis in
                "<label class=\"axis\">\(t("create.camera." + axis))<input type=\"range\" min=\"-10\" max=\"10\" step=\"1\" value=\"0\" data-axis=\"\(axis)\"><output>0</output></label>"
            }.joined()
            return """
                <section class="card"><h1>\(t("create.title"))</h1>
                \(modelLimitsNote(lang: lang))
                <p id="extend-note" class="note" hidden></p>
                <form id="create-form" novalidate>
                <label for="prompt">\(t("create.prompt"))</label>
                <textarea id="prompt" name="prompt" rows="3" placeholder="\(t("create.promptplaceholder"))"></textarea>
                <p class="counter" id="counter"></p>
                <div class="examples"><span>\(t("create.examples"))</span><div id="examples"></div></div>
                <label>\(t("create.negative"))<input name="negative_prompt" id="negative"></label>
                <div class="row">
                <fieldset class="aspect"><legend>\(t("create.aspect"))</legend>
                <label><input type="radio" name="aspect" value="16:9" checked>16:9</label>
                <label><input type="radio" name="aspect" value="9:16">9:16</label>
                <label><input type="radio" name="aspect" value="1:1">1:1</label>
                <div class="frame-preview"><div id="frame-shape" class="shape"></div></div></fieldset>
                <fieldset><legend>\(t("create.duration"))</legend>
                <input type="range" id="duration" name="duration" min="1" max="10" step="1" value="5"> <output id="duration-out">5</output> \(t("create.seconds"))
                <label>\(t("create.seed"))<input name="seed" id="seed" inputmode="numeric" pattern="[0-9]*"></label></fieldset>
                </div>
                <fieldset class="camera"><legend>\(t("create.camera"))</legend><p class="hint">\(t("create.camera.onlyone"))</p>\(axes)
                <div class="presets"><span>\(t("create.presets"))</span>
                <button type="button" data-preset="zoom:6">\(t("create.preset.zoomin"))</button>
                <button type="button" data-preset="zoom:-6">\(t("create.preset.zoomout"))</button>
                <button type="button" data-preset="pan:-6">\(t("create.preset.panleft"))</button>
                <button type="button" data-preset="pan:6">\(t("create.preset.panright"))</button>
                <button type="button" data-preset="">\(t("create.camera.none"))</button></div></fieldset>
                <fieldset><legend>\(t("create.image"))</legend>
                <input type="file" id="image" accept="image/png,image/jpeg">
                <div id="image-preview" hidden><img alt="" id="image-img"><button type="button" id="image-clear" class="link">\(t("create.imageclear"))</button>
                <label class="inline"><input type="checkbox" id="consent"> \(t("create.consent"))</label></div></fieldset>
                <div id="verdict" class="verdict" aria-live="polite"></div>
                <p class="message" role="alert" id="create-message"></p>
                <button type="submit" id="generate">\(t("create.submit"))</button>
                </form></section>
                """
        case "generation":
            return """
                <section class="card"><h1>\(t("progress.title"))</h1>
                <p id="gen-prompt" class="prompt"></p>
                <p id="gen-status" class="status" aria-live="polite"></p>
                <div class="progress"><div id="bar" class="bar"></div></div>
                <p id="gen-step" class="step"></p>
                <div id="previews" class="previews"></div>
                <button type="button" id="cancel" class="danger">\(t("progress.cancel"))</button>
                <div id="result" hidden>
                <video id="player" controls playsinline preload="metadata"></video>
                <div class="actions">
                <a id="download" class="button" download>\(t("video.download"))</a>
                <a id="receipt" class="button">\(t("video.receipt"))</a>
                <a id="extend" class="button">\(t("video.extend"))</a>
                <a id="firstframe" class="button">\(t("video.firstframe"))</a>
                <a id="reuseseed" class="button">\(t("video.reuseseed"))</a>
                <button type="button" id="delete" class="danger">\(t("video.delete"))</button></div></div>
                <p class="message" role="alert"></p></section>
                """
        case "library":
            return """
                <section class="card"><h1>\(t("library.title"))</h1>
                <label class="inline">\(t("library.filter"))
                <select id="state-filter"><option value="">\(t("library.all"))</option>
                <option value="succeeded">\(t("state.succeeded"))</option><option value="running">\(t("state.running"))</option>
                <option value="queued">\(t("state.queued"))</option><option value="failed">\(t("state.failed"))</option>
                <option value="cancelled">\(t("state.cancelled"))</option></select></label>
                <div id="gallery" class="gallery"></div><p id="library-empty" hidden>\(t("library.empty"))</p>
                <button type="button" id="more" hidden>\(t("library.more"))</button></section>
                """
        case "verify":
            return """
                <section class="card"><h1>\(t("verify.title"))</h1><p>\(t("verify.intro"))</p>
                <form id="verify-form"><label>\(t("verify.file"))<input type="file" id="verify-file" accept="video/*"></label>
                <p class="message" role="alert"></p><button type="submit">\(t("verify.submit"))</button></form>
                <dl id="report" class="report" hidden>
                <dt>\(t("verify.c2pa"))</dt><dd id="report-c2pa"></dd>
                <dt>\(t("verify.aigc"))</dt><dd id="report-aigc"></dd>
                <dt>\(t("verify.watermark"))</dt><dd id="report-watermark"></dd></dl></section>
                """
        case "account":
            return """
                <section class="card"><h1>\(t("account.title"))</h1><p id="account-summary"></p>
                <h2>\(t("account.usage"))</h2><ul id="usage"></ul>
                <h2>\(t("account.keys"))</h2>
                <form id="key-form" class="row"><label>\(t("account.keyname"))<input name="name" value="my key"></label>
                <label>\(t("account.keytype"))<select name="type"><option value="api_key">\(t("account.apikey"))</option>
                <option value="access_key">\(t("account.accesskey"))</option></select></label>
                <button type="submit">\(t("account.createkey"))</button></form>
                <div id="new-secret" class="secret" hidden><p>\(t("account.copyonce"))</p><code id="secret-value"></code>
                <button type="button" id="copy-secret">\(t("account.copy"))</button></div>
                <table id="keys"><tbody></tbody></table>
                <h2>\(t("account.realname"))</h2><p id="realname-state"></p>
                <form id="realname-form" class="row"><label>\(t("account.fullname"))<input name="full_name"></label>
                <label>\(t("account.idnumber"))<input name="id_number"></label><button type="submit">\(t("account.submit"))</button></form>
                <p class="message" role="alert"></p></section>
                """
        case "admin":
            return """
                <section class="card"><h1>\(t("admin.title"))</h1>
                <h2>\(t("admin.waitlist"))</h2><table id="waitlist"><tbody></tbody></table>
                <h2>\(t("admin.invitations"))</h2>
                <form id="invite-form" class="row"><label>\(t("admin.uses"))<input name="max_uses" type="number" min="1" value="1"></label>
                <button type="submit">\(t("admin.invite"))</button></form><table id="invitations"><tbody></tbody></table>
                <h2>\(t("admin.accounts"))</h2><table id="accounts"><tbody></tbody></table>
                <h2>\(t("admin.queue"))</h2><table id="queue"><tbody></tbody></table>
                <h2>\(t("admin.verdicts"))</h2><table id="verdicts"><tbody></tbody></table>
                <p class="message" role="alert"></p></section>
                """
        default:
            return ""
        }
    }

    /// A cached JPEG of a finished clip's first frame.
    func thumbnail(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let generation = try await owned(context.parameters.require("id"), principal)
        guard generation.state == .succeeded, let key = generation.videoKey else {
            throw ServiceError(.conflict, "generation \(generation.id) is \(generation.state.rawValue); a thumbnail exists once it succeeds")
        }
        let thumbKey = "thumbnails/\(generation.id).jpg"
        let jpeg: Data
        if (try? await plane.storage.size(key: thumbKey)) ?? nil != nil, let cached = FileManager.default.contents(atPath: try await plane.storage.localPath(key: thumbKey)) {
            jpeg = cached
        } else {
            jpeg = try plane.thumbnail(path: try await plane.storage.localPath(key: key))
            try await plane.storage.put(key: thumbKey, data: jpeg, contentType: "image/jpeg")
        }
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
        response.headers[.contentType] = "image/jpeg"
        response.headers[.cacheControl] = "private, max-age=86400"
        return response
    }

    /// The provenance report of an uploaded file (the same as `moviola verify --json`), trusting this server's root.
    func verifyUpload(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        _ = try await access.principal(request, admitted: false)
        let body = try await Self.body(request, context)
        guard !body.isEmpty else { throw ServiceError(.badRequest, "send the video file as the request body") }
        let path = (plane.scratchDirectory as NSString).appendingPathComponent("verify-\(UUID().uuidString)")
        try body.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let anchors = [plane.identity.root].compactMap { $0 }
        let report: ProvenanceReport
        do {
            report = try ProvenanceReport.inspect(path: path, trustAnchors: anchors, fallbackSigner: plane.identity.signer)
        } catch let error as ProvenanceError {
            throw ServiceError(.badRequest, "\(error)", field: "file")
        }
        return try Self.json(report.json)
    }
}
