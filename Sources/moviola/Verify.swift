import ArgumentParser
import Foundation
import MoviolaMedia
import MoviolaProvenance
import X509

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a video's provenance: C2PA manifest, AIGC metadata and invisible watermark.",
        discussion: """
            The watermark is read from the pictures, so it is found even after the metadata was stripped \
            (a remux) or the file re-encoded. Roots trusted: this installation's CA (data/ca/root.pem) and any --trust file.
            """)

    @Argument(help: "The video file.")
    var file: String

    @Option(help: "PEM file of root certificates to trust (repeatable).")
    var trust: [String] = []

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        do { try verify() } catch let error as ExitCode { throw error } catch { throw fail("\(error)") }
    }

    func verify() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw ProvenanceError("\(file): file not found") }
        guard let data = FileManager.default.contents(atPath: file) else { throw ProvenanceError("\(file): cannot read") }
        // The C2PA part needs an MP4 box structure; other containers still get the AIGC and watermark checks.
        var anchors: [Certificate] = []
        let ca = MoviolaData.certificateAuthority
        if let pem = try? ca.rootPEM() { anchors += (try? CertificateAuthority.certificates(fromPEM: pem, what: "root.pem")) ?? [] }
        for path in trust {
            guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw ProvenanceError("--trust \(path): cannot read")
            }
            let certs = try CertificateAuthority.certificates(fromPEM: text, what: "--trust \(path)")
            guard !certs.isEmpty else { throw ProvenanceError("--trust \(path): no certificate in it") }
            anchors += certs
        }
        let c2pa: C2PAReport
        if (try? BMFF.topLevelBoxes(of: data)) != nil {
            c2pa = try C2PAVerifier.verify(mp4: data, trustAnchors: anchors)
        } else {
            c2pa = C2PAReport.notMP4
        }
        var detector = Watermark.Detector()
        let info: VideoInfo
        do {
            info = try MediaReader.decode(path: file) { detector.add($0) }
        } catch {
            throw ProvenanceError("\(file) is not a video Moviola can read: \(error)")
        }
        guard detector.frames > 0 else { throw ProvenanceError("\(file): no pictures in it") }
        // MOVIOLA_WM_DEBUG=MV-… prints the detector's view of that expected ID (for analysis).
        let mark = detector.detect(diagnosing: ProcessInfo.processInfo.environment["MOVIOLA_WM_DEBUG"].flatMap(ProduceID.parse))

        var aigcLabel: AIGCLabel?
        var aigcError: String?
        var aigcSignatureValid: Bool?
        if let text = info.metadata["AIGC"] ?? info.metadata["aigc"] {
            do {
                let label = try AIGCLabel.parse(text)
                aigcLabel = label
                let certificate = c2pa.signerCertificate ?? (try? ca.load().signer)
                aigcSignatureValid = certificate.map { label.signatureIsValid(for: $0) } ?? false
            } catch { aigcError = "\(error)" }
        }

        if json {
            var root: [String: Any] = ["file": file]
            var c: [String: Any] = ["state": c2pa.state, "failures": c2pa.failures]
            if let v = c2pa.instanceID { c["instanceId"] = v }
            if let v = c2pa.title { c["title"] = v }
            if let v = c2pa.generator { c["claimGenerator"] = v }
            if !c2pa.actions.isEmpty { c["actions"] = c2pa.actions }
            if let v = c2pa.digitalSourceType { c["digitalSourceType"] = v }
            if let v = c2pa.softwareAgent { c["softwareAgent"] = v }
            if let v = c2pa.signer { c["signer"] = v }
            if let v = c2pa.softBindingAlgorithm { c["softBinding"] = v }
            if let v = c2pa.visibleLabel { c["visibleLabel"] = v }
            if !c2pa.ingredients.isEmpty { c["ingredients"] = c2pa.ingredients }
            if !c2pa.explanations.isEmpty { c["explanations"] = c2pa.explanations }
            root["c2pa"] = c
            var a: [String: Any] = ["present": aigcLabel != nil]
            if let aigcLabel {
                a["produceId"] = aigcLabel.produceID
                a["contentProducer"] = aigcLabel.contentProducer
                a["signatureValid"] = aigcSignatureValid ?? false
            }
            if let aigcError { a["error"] = aigcError }
            root["aigc"] = a
            var w: [String: Any] = ["detected": mark != nil, "framesRead": detector.frames]
            if let mark {
                w["produceId"] = ProduceID.string(mark.id)
                w["confidence"] = (mark.confidence * 1000).rounded() / 1000
                w["zScore"] = (mark.zScore * 100).rounded() / 100
            }
            root["watermark"] = w
            let out = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: out, as: UTF8.self))
            return
        }
        print("\(file): \(info.width)x\(info.height), \(info.frameCount) frames")
        switch c2pa.state {
        case "Absent": print("C2PA       no manifest (removed by a remux or re-encode, or never signed)")
        case "NotMP4": print("C2PA       not an MP4 file; no manifest to check")
        default:
            print("C2PA       \(c2pa.state)\(c2pa.failures.isEmpty ? "" : " — " + c2pa.failures.joined(separator: ", "))")
            for line in c2pa.explanations { print("           \(line)") }
            print("           \(c2pa.actions.joined(separator: ", ")); source \(c2pa.digitalSourceType ?? "-"); agent \(c2pa.softwareAgent ?? "-")")
            print("           signed by \(c2pa.signer ?? "-"); instance \(c2pa.instanceID ?? "-")")
            if c2pa.visibleLabel == false { print("           visible label: turned off by the operator") }
            if !c2pa.ingredients.isEmpty { print("           made from: \(c2pa.ingredients.joined(separator: ", "))") }
        }
        if let aigcLabel {
            print("AIGC       ProduceID \(aigcLabel.produceID), producer \(aigcLabel.contentProducer), signature \(aigcSignatureValid == true ? "valid" : "INVALID")")
        } else {
            print("AIGC       \(aigcError ?? "no AIGC metadata")")
        }
        if let mark {
            print(String(format: "watermark  detected: ProduceID %@ (confidence %.2f, z %.1f)", ProduceID.string(mark.id), mark.confidence, mark.zScore))
        } else {
            print("watermark  not detected")
        }
    }
}

extension C2PAReport {
    static var notMP4: C2PAReport {
        C2PAReport(state: "NotMP4", failures: [], explanations: [], actions: [], ingredients: [])
    }
}

