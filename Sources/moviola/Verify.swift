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
        let report: ProvenanceReport
        do {
            // MOVIOLA_WM_DEBUG=MV-… prints the detector's view of that expected ID (for analysis).
            report = try ProvenanceReport.inspect(path: file, trustAnchors: anchors, fallbackSigner: try? ca.load().signer,
                                                  diagnose: ProcessInfo.processInfo.environment["MOVIOLA_WM_DEBUG"].flatMap(ProduceID.parse))
        } catch let error as ProvenanceError where !error.description.hasPrefix(file) {
            throw ProvenanceError("\(file): \(error)")
        }
        let c2pa = report.c2pa
        if json {
            var root = report.json
            root["file"] = file
            let out = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: out, as: UTF8.self))
            return
        }
        print("\(file): \(report.width)x\(report.height), \(report.frameCount) frames")
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
        if let aigcLabel = report.aigc {
            print("AIGC       ProduceID \(aigcLabel.produceID), producer \(aigcLabel.contentProducer), signature \(report.aigcSignatureValid == true ? "valid" : "INVALID")")
        } else {
            print("AIGC       \(report.aigcError ?? "no AIGC metadata")")
        }
        if let mark = report.watermark {
            print(String(format: "watermark  detected: ProduceID %@ (confidence %.2f, z %.1f)", ProduceID.string(mark.id), mark.confidence, mark.zScore))
        } else {
            print("watermark  not detected")
        }
    }
}
