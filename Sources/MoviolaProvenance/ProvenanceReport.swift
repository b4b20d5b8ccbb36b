import Foundation
import MoviolaMedia
import X509

/// Everything `moviola verify` reports about a file: the C2PA manifest, the AIGC label and the
/// watermark read from the pictures.
public struct ProvenanceReport: Sendable {
    public var width: Int
    public var height: Int
    public var frameCount: Int
    public var c2pa: C2PAReport
    public var aigc: AIGCLabel?
    public var aigcError: String?
    public var aigcSignatureValid: Bool?
    public var watermark: Watermark.Detection?
    public var framesRead: Int

    /// Reads and checks a file.
    /// - Parameters:
    ///   - trustAnchors: roots a manifest's chain must end in to be `Trusted`.
    ///   - fallbackSigner: checks the AIGC signature when there is no manifest (this installation's signer).
    ///   - diagnose: prints the watermark detector's view of this expected ID.
    public static func inspect(path: String, trustAnchors: [Certificate], fallbackSigner: Certificate?,
                               diagnose: UInt64? = nil) throws -> ProvenanceReport {
        guard FileManager.default.fileExists(atPath: path) else { throw ProvenanceError("\(path): file not found") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ProvenanceError("\(path): cannot read") }
        // The C2PA part needs an MP4 box structure; other containers still get the AIGC and watermark checks.
        let c2pa: C2PAReport
        if (try? BMFF.topLevelBoxes(of: data)) != nil {
            c2pa = try C2PAVerifier.verify(mp4: data, trustAnchors: trustAnchors)
        } else {
            c2pa = C2PAReport(state: "NotMP4", failures: [], explanations: [], actions: [], ingredients: [])
        }
        var detector = Watermark.Detector()
        let info: VideoInfo
        do {
            info = try MediaReader.decode(path: path) { detector.add($0) }
        } catch {
            throw ProvenanceError("this is not a video Moviola can read: \(error)")
        }
        guard detector.frames > 0 else { throw ProvenanceError("there are no pictures in this file") }
        let mark = detector.detect(diagnosing: diagnose)
        var report = ProvenanceReport(width: info.width, height: info.height, frameCount: info.frameCount, c2pa: c2pa,
                                      watermark: mark, framesRead: detector.frames)
        if let text = info.metadata["AIGC"] ?? info.metadata["aigc"] {
            do {
                let label = try AIGCLabel.parse(text)
                report.aigc = label
                let certificate = c2pa.signerCertificate ?? fallbackSigner
                report.aigcSignatureValid = certificate.map { label.signatureIsValid(for: $0) } ?? false
            } catch { report.aigcError = "\(error)" }
        }
        return report
    }

    /// The JSON form (`moviola verify --json`): `c2pa.state`, `c2pa.failures`, `aigc.produceId`,
    /// `aigc.signatureValid`, `watermark.detected`, `watermark.produceId`, `watermark.confidence`, …
    public var json: [String: Any] {
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
        var a: [String: Any] = ["present": aigc != nil]
        if let aigc {
            a["produceId"] = aigc.produceID
            a["contentProducer"] = aigc.contentProducer
            a["signatureValid"] = aigcSignatureValid ?? false
        }
        if let aigcError { a["error"] = aigcError }
        var w: [String: Any] = ["detected": watermark != nil, "framesRead": framesRead]
        if let watermark {
            w["produceId"] = ProduceID.string(watermark.id)
            w["confidence"] = (watermark.confidence * 1000).rounded() / 1000
            w["zScore"] = (watermark.zScore * 100).rounded() / 100
        }
        return ["c2pa": c, "aigc": a, "watermark": w, "video": ["width": width, "height": height, "frames": frameCount]]
    }
}
