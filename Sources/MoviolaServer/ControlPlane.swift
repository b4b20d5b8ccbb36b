import Crypto
import Foundation
import Logging
import MoviolaMedia
import MoviolaProvenance
import MoviolaSafety
import MoviolaStore
import MoviolaWorker
import Synchronization

/// Settings of the control plane that an operator chooses.
public struct ControlPlaneSettings: Sendable {
    /// ContentProducer in the AIGC metadata.
    public var contentProducer: String
    /// The burned-in label; nil when the operator turned it off (recorded in the audit log).
    public var labelText: String?
    public var previewEvery: Int
    public var heartbeatSeconds: Double
    public var maxAttempts: Int

    public init(contentProducer: String, labelText: String?, previewEvery: Int = 2, heartbeatSeconds: Double = 2, maxAttempts: Int = 3) {
        self.contentProducer = contentProducer
        self.labelText = labelText
        self.previewEvery = previewEvery
        self.heartbeatSeconds = heartbeatSeconds
        self.maxAttempts = maxAttempts
    }
}

/// The server's side of every generation: it validates and queues requests, hands jobs to workers
/// (in-process or over the internal API), and publishes results only after the file's watermark
/// decodes to the job's own ID; it signs the C2PA manifest itself, so signing keys never leave it.
public final class ControlPlane: JobSource, Sendable {
    public let store: Store
    public let catalogue: ModelCatalogue
    public let storage: any ObjectStorage
    public let identity: SigningIdentity
    public let settings: ControlPlaneSettings
    public let policies: PolicyStore
    /// Finds human faces in input images and sampled output frames.
    public let faces: HaarCascade
    public let metrics: ServiceMetrics
    /// Fired when a job is queued or released.
    public let jobsPulse = Pulse()
    /// Fired when any generation's event log grows.
    public let eventsPulse = Pulse()
    /// Fired when a webhook is due now (a redelivery).
    public let webhookPulse = Pulse()
    public var auditSigner: AuditSigner { AuditSigner(identity: identity) }
    let scratchDirectory: String
    let logger: Logger
    /// Running mean of published jobs' durations, for ETAs.
    private let averageJobSeconds = Mutex<Double?>(nil)
    private let lastStep = Mutex<[String: (step: Int, at: Double)]>([:])

    public init(store: Store, catalogue: ModelCatalogue, storage: any ObjectStorage, identity: SigningIdentity,
                settings: ControlPlaneSettings, policies: PolicyStore, faces: HaarCascade, metrics: ServiceMetrics,
                scratchDirectory: String, logger: Logger) {
        self.policies = policies
        self.faces = faces
        self.store = store
        self.catalogue = catalogue
        self.storage = storage
        self.identity = identity
        self.settings = settings
        self.metrics = metrics
        self.scratchDirectory = scratchDirectory
        self.logger = logger
    }

    // MARK: requests

    func resolve(_ body: CreateGenerationBody) throws -> (ModelInfo, GenerationSpec) {
        guard let model = catalogue.model(named: body.model) else {
            throw ServiceError(.badRequest, "unknown model \(body.model ?? ""); installed: \(catalogue.models.map(\.name).joined(separator: ", "))", field: "model")
        }
        // Placeholder marks: the real ones are made per generation in `create`.
        let marks = OutputMarks(contentID: 0, aigcJSON: "", labelText: settings.labelText, comment: "")
        return (model, try body.resolve(model: model, marks: marks))
    }

    /// Validates, stores the image, signs the AIGC label and queues the generation (or returns the
    /// earlier one for a repeated idempotency key).
    func create(_ body: CreateGenerationBody, account: String, idempotencyKey: String?,
                options: CreateOptions = CreateOptions()) async throws -> (GenerationRecord, Bool) {
        if let idempotencyKey, let earlier = try await store.generation(account: account, idempotencyKey: idempotencyKey) {
            return (earlier, false)
        }
        var (model, spec) = try resolve(body)
        if let sourceID = body.extend {
            guard body.image == nil else { throw ServiceError(.badRequest, "give image or extend, not both", field: "extend", klingCode: 1201) }
            guard let source = try await store.generation(id: sourceID), source.account == account || account == "local", source.deletedAt == nil else {
                throw ServiceError(.notFound, "no generation \(sourceID) to extend", field: "extend", klingCode: 1201)
            }
            guard source.state == .succeeded, let videoKey = source.videoKey else {
                throw ServiceError(.conflict, "generation \(sourceID) is \(source.state.rawValue) and has no video to extend", field: "extend", klingCode: 1201)
            }
            let sourceSpec = try JSONDecoder().decode(GenerationSpec.self, from: Data(source.request.utf8))
            guard sourceSpec.model == spec.model else {
                throw ServiceError(.badRequest, "extend with the model that made the clip (\(sourceSpec.model))", field: "model", klingCode: 1201)
            }
            // The continuation keeps the earlier clip's size and frame rate; the worker renders the new frames after its last one.
            let earlier = sourceSpec.settings
            spec.settings.width = earlier.width
            spec.settings.height = earlier.height
            spec.settings.outputWidth = earlier.outputWidth
            spec.settings.outputHeight = earlier.outputHeight
            spec.settings.outputFPS = earlier.outputFPS
            spec.aspectRatio = sourceSpec.aspectRatio
            spec.extendsGenerationID = source.id
            spec.earlierVideoKey = videoKey
            spec.earlierVideoSHA256 = source.videoSHA256
            spec.earlierDuration = (sourceSpec.earlierDuration ?? 0) + sourceSpec.duration
        }
        spec.remixedFromID = options.remixOf
        let image = try await inspectImageOffPool(body.image)
        let verdict = try await checkPolicy(body, facts: image?.facts, account: account)
        spec.policyVersion = verdict.policyVersion
        spec.policyAction = verdict.action
        spec.consent = body.consent
        let id = "gen_" + Self.randomID()
        if let image, let original = body.image {
            // Stored re-encoded from its pixels, so no metadata (location, camera, names) travels on.
            let stripped = try JPEGEncoder.encode(image.picture, quality: 31)
            spec.imageKey = "inputs/\(id).jpg"
            spec.imageType = Self.imageType(original).mime
            spec.imageSHA256 = SHA256.hash(data: original).map { String(format: "%02x", $0) }.joined()
            try await storage.put(key: spec.imageKey!, data: stripped, contentType: "image/jpeg")
        }
        var generator = SystemRandomNumberGenerator()
        let contentID = generator.next() as UInt64
        let produceID = ProduceID.string(contentID)
        var aigc = AIGCLabel(contentProducer: settings.contentProducer, produceID: produceID)
        try aigc.sign(with: identity)
        spec.marks = OutputMarks(contentID: contentID, aigcJSON: aigc.json, labelText: settings.labelText,
                                 comment: "AI-generated with Moviola (\(model.name))")
        let request = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        var new = NewGeneration(id: id, account: account, produceID: produceID, contentID: contentID, model: model.name, request: request,
                                priority: body.priority, idempotencyKey: idempotencyKey, maxAttempts: settings.maxAttempts)
        new.cost = Self.cost(spec)
        new.admission = options.admission
        new.externalTaskID = options.externalTaskID
        new.callbackURL = options.callbackURL
        new.apiFlavor = options.flavor
        let record: GenerationRecord
        let created: Bool
        do {
            (record, created) = try await store.createGeneration(new)
        } catch let quota as QuotaExceeded {
            if let key = spec.imageKey { try? await storage.delete(key: key) }
            try await store.audit("quota.refused", actor: account, data: ["limit": quota.kind.rawValue, "allowed": quota.limit, "used": quota.used])
            let codes: [QuotaExceeded.Kind: (Int, String)] = [.concurrency: (1303, "concurrency_limit"), .daily: (1302, "daily_limit"),
                                                              .credits: (1102, "insufficient_credits")]
            let (kling, code) = codes[quota.kind]!
            throw ServiceError(.tooManyRequests, quota.description, klingCode: kling, code: code)
        } catch let duplicate as DuplicateExternalTaskID {
            if let key = spec.imageKey { try? await storage.delete(key: key) }
            throw ServiceError(.conflict, duplicate.description, field: "external_task_id", klingCode: 1201)
        }
        if created {
            try await store.audit("generation.requested", actor: account, subject: id,
                                  data: ["model": model.name, "produce_id": produceID, "policy_version": spec.policyVersion ?? "",
                                         "policy_action": spec.policyAction ?? "", "api": options.flavor, "cost": new.cost,
                                         "visible_label": settings.labelText != nil])
        }
        if created {
            metrics.increment("moviola_generations_created_total")
            jobsPulse.fire()
            eventsPulse.fire()
        } else if let key = spec.imageKey {
            try? await storage.delete(key: key)
        }
        return (record, created)
    }

    /// Credits a generation costs if it succeeds: one per started second of video.
    static func cost(_ spec: GenerationSpec) -> Int {
        max(1, Int(spec.duration.rounded(.up)))
    }

    /// The content policy's verdict on a request, before anything is stored or spent. Refusals (and
    /// verdicts to review) are recorded; an account refused too often within the policy's window is
    /// rate-limited and flagged for review.
    /// `inspectImage` on its own thread (decoding and face detection would hold a pool thread), nil without an image.
    func inspectImageOffPool(_ data: Data?) async throws -> (picture: RGBImage, facts: ImageFacts)? {
        guard let data else { return nil }
        return try await runOnThread { try self.inspectImage(data) }
    }

    /// Decodes and checks an input image: format, size, and the faces in it.
    func inspectImage(_ data: Data) throws -> (picture: RGBImage, facts: ImageFacts) {
        guard data.count <= 20 << 20 else { throw ServiceError(.tooLarge, "image is over 20 MB", field: "image") }
        let type = Self.imageType(data)
        guard type.ext != "bin" else { throw ServiceError(.badRequest, "image must be a PNG, JPEG or WebP picture", field: "image") }
        let picture: RGBImage
        do { picture = try MediaReader.decodeImage(data: data, scratchDirectory: scratchDirectory) } catch {
            throw ServiceError(.badRequest, "image does not decode as a \(type.ext.uppercased()) picture (truncated or damaged?): \(error)", field: "image")
        }
        guard picture.width >= 16, picture.height >= 16, picture.width <= 8192, picture.height <= 8192 else {
            throw ServiceError(.badRequest, "image is \(picture.width)x\(picture.height); 16 to 8192 pixels a side are accepted", field: "image")
        }
        let found = faces.detect(GrayImage(width: picture.width, height: picture.height, rgb: picture.pixels))
        return (picture, ImageFacts(faces: found.count))
    }

    func checkPolicy(_ body: CreateGenerationBody, facts: ImageFacts?, account: String) async throws -> Verdict {
        let compiled = policies.policy
        let policy = compiled.policy
        let since = Date().timeIntervalSince1970 - policy.refusalWindowSeconds
        let recent = try await store.refusals(account: account, since: since)
        if recent >= policy.refusalLimit {
            metrics.increment("moviola_policy_rate_limited_total")
            throw ServiceError(.tooManyRequests, "this account had \(recent) requests refused by the content policy in the last \(Int(policy.refusalWindowSeconds / 60)) minutes; it is paused and flagged for review")
        }
        let verdict = compiled.judge(prompt: body.prompt, negativePrompt: body.negativePrompt,
                                     image: facts, consent: facts == nil ? nil : (body.consent ?? false))
        if !verdict.allowed || verdict.action == "review" {
            let flagged = !verdict.allowed && recent + 1 >= policy.refusalLimit
            let json = String(decoding: try JSONEncoder().encode(verdict), as: UTF8.self)
            try await store.recordVerdict(account: account, input: verdict.input?.rawValue, allowed: verdict.allowed, action: verdict.action,
                                          category: verdict.category, rule: verdict.rule, policyVersion: verdict.policyVersion,
                                          prompt: body.prompt, verdictJSON: json,
                                          reviewState: verdict.action == "review" || flagged ? "pending" : "none")
            if flagged {
                logger.warning("account \(account) reached \(policy.refusalLimit) refusals; flagged for review")
            }
        }
        if !verdict.allowed || verdict.action == "review" {
            try await store.audit(verdict.allowed ? "policy.review" : "policy.refused", actor: account,
                                  data: ["action": verdict.action, "category": verdict.category ?? "", "rule": verdict.rule ?? "",
                                         "policy_version": verdict.policyVersion, "input": verdict.input?.rawValue ?? ""])
        }
        if !verdict.allowed {
            metrics.increment("moviola_policy_refusals_total")
            throw PolicyRefusal(verdict: verdict, disclosure: policy.disclosure)
        }
        return verdict
    }

    /// Queue position, ETA, the policy verdict and the resolved settings, without queueing anything.
    func estimate(_ body: CreateGenerationBody) async throws -> [String: Any] {
        let (_, spec) = try resolve(body)
        let compiled = policies.policy
        let facts = try await inspectImageOffPool(body.image)?.facts
        let verdict = compiled.judge(prompt: body.prompt, negativePrompt: body.negativePrompt,
                                     image: facts, consent: facts == nil ? nil : (body.consent ?? false))
        let stats = try await store.stats()
        let perJob = averageJobSeconds.withLock { $0 } ?? Double(spec.settings.steps) * 0.25 + 3
        return [
            "queue_position": stats.readyJobs,
            "running": stats.runningJobs,
            "eta_seconds": (Double(stats.readyJobs + stats.runningJobs) + 1) * perJob,
            "policy": PolicyRefusal(verdict: verdict, disclosure: compiled.policy.disclosure).document,
            "resolved": settingsDocument(spec),
        ]
    }

    func settingsDocument(_ spec: GenerationSpec) -> [String: Any] {
        let s = spec.settings
        return [
            "model": spec.model, "aspect_ratio": spec.aspectRatio, "duration": spec.duration,
            "width": s.outputWidth, "height": s.outputHeight, "fps": s.outputFPS,
            "generated": ["width": s.width, "height": s.height, "fps": s.fps, "frames": s.frames],
            "seed": s.seed, "steps": s.steps, "guidance": Double(s.guidance),
            "camera_control": spec.cameraControl.map { [$0.axis: $0.value] as Any } ?? NSNull(),
            "model_prompt": s.prompt,
        ]
    }

    func averageSeconds() -> Double? { averageJobSeconds.withLock { $0 } }

    // MARK: JobSource (in-process workers call these directly; the internal API calls them for remote ones)

    public func claim(worker: String) async throws -> WorkAssignment? {
        try await claim(worker: worker, models: catalogue.models.map(\.name))
    }

    public func claim(worker: String, models: [String]) async throws -> WorkAssignment? {
        guard let job = try await store.claim(worker: worker, models: models) else { return nil }
        eventsPulse.fire()
        let ticket = JobTicket(jobID: job.jobID, generationID: job.generation.id, attempt: job.attempt, worker: worker)
        do {
            let spec = try JSONDecoder().decode(GenerationSpec.self, from: Data(job.generation.request.utf8))
            var image: Data?
            if let key = spec.imageKey {
                image = FileManager.default.contents(atPath: try await storage.localPath(key: key))
            }
            var assignment = WorkAssignment(ticket: ticket, model: spec.model, settings: spec.settings, marks: spec.marks, firstFrame: image,
                                            heartbeatSeconds: settings.heartbeatSeconds, previewEvery: settings.previewEvery)
            if let key = spec.earlierVideoKey {
                guard let clip = FileManager.default.contents(atPath: try await storage.localPath(key: key)) else {
                    throw ServiceError(.notFound, "the clip to extend is no longer stored")
                }
                assignment.earlierClip = clip
            }
            return assignment
        } catch {
            try? await store.fail(jobID: job.jobID, worker: worker, attempt: job.attempt, disposition: .final(code: "corrupt_request"),
                                  message: "the stored request cannot be read: \(error)")
            eventsPulse.fire()
            return nil
        }
    }

    public func heartbeat(_ ticket: JobTicket, progress: WorkProgress) async throws -> HeartbeatReply {
        if progress.stage == "denoising", progress.step > 0 {
            let now = Date().timeIntervalSince1970
            let previous = lastStep.withLock { state -> (step: Int, at: Double)? in
                defer { state[ticket.jobID] = (progress.step, now) }
                return state[ticket.jobID]
            }
            if let previous, progress.step > previous.step {
                metrics.observeStep(seconds: (now - previous.at) / Double(progress.step - previous.step))
            }
        }
        let outcome = try await store.heartbeat(jobID: ticket.jobID, worker: ticket.worker, attempt: ticket.attempt,
                                                stage: progress.stage, step: progress.step, totalSteps: progress.totalSteps,
                                                previewJPEGBase64: progress.preview?.base64EncodedString())
        eventsPulse.fire()
        switch outcome {
        case .proceed: return .proceed
        case .cancelRequested: return .cancel
        case .leaseLost: return .lost
        }
    }

    public func complete(_ ticket: JobTicket, video: URL, report: RenderReport) async throws {
        defer { lastStep.withLock { _ = $0.removeValue(forKey: ticket.jobID) } }
        guard try await store.holdsLease(jobID: ticket.jobID, worker: ticket.worker, attempt: ticket.attempt) else {
            metrics.increment("moviola_stale_results_refused_total")
            throw StaleLeaseError(ticket)
        }
        guard let generation = try await store.generation(id: ticket.generationID) else {
            throw ServiceError(.notFound, "no generation \(ticket.generationID)")
        }
        let spec = try JSONDecoder().decode(GenerationSpec.self, from: Data(generation.request.utf8))
        try await store.appendEvent(generationID: generation.id, kind: "progress", data: ["stage": "publishing"])
        eventsPulse.fire()
        // Publishing can outlast the lease on a slow machine: keep it renewed until the result is recorded.
        let store = self.store
        let renewEvery = max(1, store.leaseSeconds / 3)
        let renewal = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(renewEvery))
                _ = try await store.heartbeat(jobID: ticket.jobID, worker: ticket.worker, attempt: ticket.attempt,
                                              stage: nil, step: 0, totalSteps: 0)
            }
        }
        defer { renewal.cancel() }
        do {
            let signed = try await runOnThread { try self.verifyAndSign(video: video, generation: generation, spec: spec) }
            let key = "videos/\(generation.id).mp4"
            try await storage.put(key: key, data: signed, contentType: "video/mp4")
            let receipt = try receiptJSON(generation: generation, spec: spec, report: report)
            let sha = SHA256.hash(data: signed).map { String(format: "%02x", $0) }.joined()
            let state: GenerationState
            do {
                state = try await store.complete(jobID: ticket.jobID, worker: ticket.worker, attempt: ticket.attempt,
                                                 video: .init(key: key, bytes: signed.count, sha256: sha), receipt: receipt)
            } catch is LeaseLostError {
                try? await storage.delete(key: key)
                metrics.increment("moviola_stale_results_refused_total")
                throw StaleLeaseError(ticket)
            }
            if state == .cancelled { try? await storage.delete(key: key) }
            if state == .succeeded, let started = generation.startedAt {
                let seconds = Date().timeIntervalSince1970 - started
                metrics.observeJob(seconds: seconds)
                metrics.increment("moviola_generations_succeeded_total")
                averageJobSeconds.withLock { $0 = $0.map { 0.8 * $0 + 0.2 * seconds } ?? seconds }
            }
            logger.info("generation \(generation.id) \(state.rawValue)", metadata: ["produce_id": .string(generation.produceID)])
        } catch let withheld as OutputWithheld {
            let verdict = withheld.verdict
            metrics.increment("moviola_outputs_withheld_total")
            let json = String(decoding: try JSONEncoder().encode(verdict), as: UTF8.self)
            try await store.recordVerdict(account: generation.account, input: "output", allowed: false, action: verdict.action,
                                          category: verdict.category, rule: verdict.rule, policyVersion: verdict.policyVersion,
                                          prompt: spec.prompt, verdictJSON: json, generationID: generation.id, reviewState: "pending")
            let disclosed = policies.policy.policy.disclosure == .opaque ? "the content policy" : "the content policy (\(verdict.category ?? "?")): \(verdict.message)"
            try await store.fail(jobID: ticket.jobID, worker: ticket.worker, attempt: ticket.attempt, disposition: .final(code: "output_withheld"),
                                 message: "the finished clip was checked before publishing and withheld by \(disclosed)")
            logger.warning("generation \(generation.id) withheld at publishing by \(verdict.category ?? "?")/\(verdict.rule ?? "-")")
        } catch let failure as WorkFailure {
            // The file is not publishable (its watermark does not carry its own ID): a final failure.
            metrics.increment("moviola_generations_failed_total")
            try await store.fail(jobID: ticket.jobID, worker: ticket.worker, attempt: ticket.attempt,
                                 disposition: .final(code: "verification_failed"), message: failure.message)
            logger.error("generation \(generation.id) refused at publishing: \(failure.message)")
        }
        eventsPulse.fire()
    }

    public func fail(_ ticket: JobTicket, failure: WorkFailure) async throws {
        defer { lastStep.withLock { _ = $0.removeValue(forKey: ticket.jobID) } }
        let disposition: FailureDisposition
        switch failure.kind {
        case .invalid: disposition = .final(code: "invalid_input")
        case .infrastructure: disposition = .retry(code: "worker_error")
        case .cancelled: disposition = .cancelled
        case .released: disposition = .release
        }
        let state: GenerationState
        do {
            state = try await store.fail(jobID: ticket.jobID, worker: ticket.worker, attempt: ticket.attempt,
                                         disposition: disposition, message: failure.message)
        } catch is LeaseLostError {
            throw StaleLeaseError(ticket)
        }
        if state == .failed { metrics.increment("moviola_generations_failed_total") }
        if state == .queued { jobsPulse.fire() }
        eventsPulse.fire()
    }

    public func waitForWork() async throws {
        await jobsPulse.wait(timeout: .seconds(2))
        try Task.checkCancellation()
    }

    // MARK: publishing

    /// Checks the watermark carries this generation's ID, then embeds the signed C2PA manifest.
    func verifyAndSign(video: URL, generation: GenerationRecord, spec: GenerationSpec) throws -> Data {
        var detector = Watermark.Detector()
        // Frames for the policy's output check: about two a second, and the last one (faces must show in two in a row).
        let every = max(1, spec.settings.outputFPS / 2)
        var index = 0
        var facesPerSample: [Int] = []
        var unsampledLast: RGBImage?
        let faces = self.faces
        let countFaces = { (frame: RGBImage) in faces.detect(GrayImage(width: frame.width, height: frame.height, rgb: frame.pixels)).count }
        do {
            let info = try MediaReader.decode(path: video.path) { frame in
                detector.add(frame)
                if index % every == 0 {
                    facesPerSample.append(countFaces(frame))
                    unsampledLast = nil
                } else {
                    unsampledLast = frame
                }
                index += 1
            }
            if let unsampledLast { facesPerSample.append(countFaces(unsampledLast)) }
            guard info.width == spec.settings.outputWidth, info.height == spec.settings.outputHeight else {
                throw WorkFailure(.invalid, "the worker's file is \(info.width)x\(info.height), the job asked for \(spec.settings.outputWidth)x\(spec.settings.outputHeight)")
            }
        } catch let failure as WorkFailure {
            throw failure
        } catch {
            throw WorkFailure(.invalid, "the worker's file is not a readable video: \(error)")
        }
        let outputVerdict = policies.policy.judgeOutput(prompt: spec.prompt, negativePrompt: spec.negativePrompt,
                                                        frames: ImageFacts(facesPerSampledFrame: facesPerSample))
        if !outputVerdict.allowed { throw OutputWithheld(verdict: outputVerdict) }
        // The file is at the size the job asked for (checked above), so the watermark's period is the rendered one.
        guard let detection = detector.detect(scales: [1]) else {
            throw WorkFailure(.invalid, "the worker's file carries no readable watermark; it is not published")
        }
        guard detection.id == generation.contentID else {
            throw WorkFailure(.invalid, "the worker's file carries watermark \(ProduceID.string(detection.id)), not this job's \(generation.produceID); it is not published")
        }
        guard let bytes = FileManager.default.contents(atPath: video.path) else {
            throw WorkFailure(.infrastructure, "cannot read the rendered file")
        }
        var payload = Data()
        for k in 0..<8 { payload.append(UInt8((generation.contentID >> UInt64(56 - 8 * k)) & 0xff)) }
        var ingredients: [ManifestContent.Ingredient] = []
        if let key = spec.imageKey, let sha = spec.imageSHA256, let digest = Data(hexString: sha) {
            ingredients.append(.init(title: (key as NSString).lastPathComponent, format: spec.imageType ?? "image/png", sha256: digest))
        }
        if let source = spec.extendsGenerationID, let sha = spec.earlierVideoSHA256, let digest = Data(hexString: sha) {
            ingredients.append(.init(title: "\(source).mp4", format: "video/mp4", sha256: digest))
        }
        let frames = Double(spec.settings.frames - 1) / Double(spec.settings.fps) * Double(spec.settings.outputFPS) + 1
        let content = ManifestContent(
            title: "\(generation.id).mp4", produceID: generation.produceID, modelName: "Moviola/\(spec.model)",
            modelVersion: catalogue.model(named: spec.model)?.sha256.prefix(16).description ?? "unknown",
            generatorVersion: EngineVersion.string, created: Date(), ingredients: ingredients,
            watermarkAlgorithm: Watermark.algorithmName, watermarkPayload: payload,
            durationMilliseconds: Int(frames * 1000 / Double(spec.settings.outputFPS)),
            aigcJSON: Data(spec.marks.aigcJSON.utf8), visibleLabel: spec.marks.labelText)
        do {
            return try C2PAManifest.embed(in: bytes, content: content, identity: identity)
        } catch {
            throw WorkFailure(.infrastructure, "signing the C2PA manifest failed: \(error)")
        }
    }

    /// What re-renders the clip bit-identically: model hash, engine version, seed and every setting.
    func receiptJSON(generation: GenerationRecord, spec: GenerationSpec, report: RenderReport) throws -> String {
        let model = catalogue.model(named: spec.model)
        let settings = try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec.settings))
        let receipt: [String: Any] = [
            "generation_id": generation.id, "produce_id": generation.produceID,
            "model": spec.model, "model_sha256": model?.sha256 ?? NSNull(),
            "engine_version": report.engineVersion, "threads": report.threads,
            "settings": settings, "frames_sha256": report.framesSHA256, "frames": report.framesWritten,
            "render_seconds": report.renderSeconds,
            "replay": "moviola generate --replay RECEIPT.json re-renders these frames (same model files, engine version and threads)",
        ]
        return String(decoding: try JSON.data(receipt), as: UTF8.self)
    }

    /// The first frame of a stored clip as a JPEG.
    func thumbnail(path: String) throws -> Data {
        var first: RGBImage?
        _ = try MediaReader.decode(path: path) { frame in if first == nil { first = frame } }
        guard let first else { throw ServiceError(.internal, "the stored video has no frames") }
        return try JPEGEncoder.encode(first, quality: 28)
    }

    static func randomID() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    static func imageType(_ data: Data) -> (mime: String, ext: String) {
        let bytes = [UInt8](data.prefix(12))
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return ("image/png", "png") }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return ("image/jpeg", "jpg") }
        if bytes.count >= 12, bytes[0...3] == [0x52, 0x49, 0x46, 0x46], bytes[8...11] == [0x57, 0x45, 0x42, 0x50] { return ("image/webp", "webp") }
        return ("application/octet-stream", "bin")
    }
}

/// How a generation was asked for, beyond its settings.
struct CreateOptions: Sendable {
    var admission: Admission?
    var externalTaskID: String?
    var callbackURL: String?
    var flavor = "native"
    var remixOf: String?
}

/// A finished clip the content policy's output check refused.
struct OutputWithheld: Error {
    var verdict: Verdict
}

/// A request the content policy refused; it renders per the policy's disclosure setting.
public struct PolicyRefusal: Error, Sendable {
    public var verdict: Verdict
    public var disclosure: Policy.Disclosure

    /// The verdict as clients see it: everything under `explain`, only the outcome under `opaque`.
    var document: [String: Any] {
        if disclosure == .opaque {
            return ["allowed": verdict.allowed, "policy_version": verdict.policyVersion,
                    "message": verdict.allowed ? "allowed" : "the request was refused by this service's content policy"]
        }
        return (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(verdict))) as? [String: Any] ?? [:]
    }
}

extension Data {
    init?(hexString: String) {
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2, limitedBy: hexString.endIndex) ?? hexString.endIndex
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
