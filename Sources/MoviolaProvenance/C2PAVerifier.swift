import Crypto
import Foundation
import SwiftASN1
import X509

/// The outcome of checking an MP4's C2PA manifest, in the C2PA validation vocabulary.
public struct C2PAReport: Sendable {
    public init(state: String, failures: [String], explanations: [String], actions: [String], ingredients: [String]) {
        self.state = state
        self.failures = failures
        self.explanations = explanations
        self.actions = actions
        self.ingredients = ingredients
    }

    /// `Trusted`, `Valid`, `Invalid`, or `Absent` when the file carries no manifest.
    public var state: String
    /// C2PA failure codes (`assertion.bmffHash.mismatch`, `signingCredential.untrusted`, …).
    public var failures: [String]
    public var explanations: [String]
    public var instanceID: String?
    public var title: String?
    public var generator: String?
    public var actions: [String]
    public var digitalSourceType: String?
    public var softwareAgent: String?
    public var signer: String?
    public var signerCertificate: Certificate?
    public var softBindingAlgorithm: String?
    public var softBindingValue: Data?
    public var aigcAssertion: String?
    public var visibleLabel: Bool?
    public var ingredients: [String]

    static func absent() -> C2PAReport {
        C2PAReport(state: "Absent", failures: [], explanations: [], actions: [], ingredients: [])
    }
}

/// Reads and validates the manifests `C2PAManifest` writes (and others of the same shape):
/// assertion hashes, the BMFF hard binding, the COSE signature and the certificate chain.
public enum C2PAVerifier {
    public static func verify(mp4 data: Data, trustAnchors: [Certificate], now: Date = Date()) throws -> C2PAReport {
        let boxes = try BMFF.topLevelBoxes(of: data)
        guard let box = boxes.last(where: { C2PAManifest.isManifestBox(data, $0) }) else { return .absent() }
        var report = C2PAReport(state: "Invalid", failures: [], explanations: [], actions: [], ingredients: [])
        func fail(_ code: String, _ why: String) {
            if !report.failures.contains(code) { report.failures.append(code) }
            report.explanations.append("\(code): \(why)")
        }
        // uuid box: header, extended type, version/flags, "manifest\0", u64 merkle offset, JUMBF.
        var cursor = box.offset + box.headerSize + 16 + 4
        while cursor < box.end && data[data.startIndex + cursor] != 0 { cursor += 1 }
        cursor += 1 + 8
        guard cursor < box.end else {
            fail("manifest.malformed", "the C2PA box is too short")
            return report
        }
        let storeBytes = Data(data[(data.startIndex + cursor)..<(data.startIndex + box.end)])
        let store: JUMBF.Node
        do {
            // Padding after the store is allowed: parse only the first box.
            let first = try BMFF.boxes(in: storeBytes).first { $0.type == "jumb" }
            guard let first else { throw ProvenanceError("no JUMBF superbox") }
            store = try JUMBF.parse(Data(storeBytes[first.offset..<first.end]))
        } catch {
            fail("manifest.malformed", "the manifest store does not parse: \(error)")
            return report
        }
        guard store.type == JUMBF.manifestStore, let manifest = store.children.last(where: { $0.type == JUMBF.manifest }) else {
            fail("manifest.malformed", "no manifest in the store")
            return report
        }
        guard let assertionStore = manifest.children.first(where: { $0.type == JUMBF.assertionStore }),
              let claimNode = manifest.children.first(where: { $0.type == JUMBF.claim }),
              let claimBytes = claimNode.content.first(where: { $0.type == "cbor" })?.data,
              let signatureBytes = manifest.children.first(where: { $0.type == JUMBF.signature })?.content.first(where: { $0.type == "cbor" })?.data else {
            fail("manifest.malformed", "the manifest lacks its assertions, claim or signature")
            return report
        }
        let claim: CBOR
        do { claim = try CBOR.decode(claimBytes) } catch {
            fail("claim.malformed", "\(error)")
            return report
        }
        report.instanceID = claim["instanceID"]?.text
        report.title = claim["dc:title"]?.text
        report.generator = [claim["claim_generator_info"]?["name"]?.text, claim["claim_generator_info"]?["version"]?.text]
            .compactMap { $0 }.joined(separator: " ")

        // Assertions and their hashes.
        var hardBinding: CBOR?
        for uri in (claim["created_assertions"]?.array ?? []) + (claim["gathered_assertions"]?.array ?? []) {
            guard let url = uri["url"]?.text, let expected = uri["hash"]?.bytes else {
                fail("claim.malformed", "an assertion reference has no url or hash")
                continue
            }
            let label = String(url.split(separator: "/").last ?? "")
            guard let node = assertionStore.child(label) else {
                fail("assertion.missing", "\(label) is referenced by the claim but not in the store")
                continue
            }
            if Data(SHA256.hash(data: node.contentsWithoutHeader)) != expected {
                fail("assertion.hashedURI.mismatch", "\(label) was changed after signing")
            }
            guard let body = node.content.first(where: { $0.type == "cbor" })?.data, let value = try? CBOR.decode(body) else { continue }
            switch label {
            case "c2pa.hash.bmff.v3", "c2pa.hash.bmff.v2": hardBinding = value
            case "c2pa.actions.v2", "c2pa.actions":
                for action in value["actions"]?.array ?? [] {
                    guard let name = action["action"]?.text else { continue }
                    report.actions.append(name)
                    if name == "c2pa.created" {
                        report.digitalSourceType = action["digitalSourceType"]?.text
                        report.softwareAgent = action["softwareAgent"]?["name"]?.text ?? action["softwareAgent"]?.text
                    }
                }
            case "c2pa.soft-binding":
                report.softBindingAlgorithm = value["alg"]?.text
                report.softBindingValue = value["blocks"]?.array?.first?["value"]?.bytes
            case C2PAManifest.aigcAssertionLabel: report.aigcAssertion = value["AIGC"]?.text
            case C2PAManifest.labelsAssertionLabel:
                if case .bool(let visible)? = value["visible"] { report.visibleLabel = visible }
            default:
                if label.hasPrefix("c2pa.ingredient"), let title = value["dc:title"]?.text { report.ingredients.append(title) }
            }
        }

        // The hard binding.
        if let hardBinding {
            guard let expected = hardBinding["hash"]?.bytes else {
                fail("assertion.bmffHash.malformed", "the BMFF hash assertion has no hash")
                return finish(report)
            }
            let actual = try bmffHash(of: data, exclusions: hardBinding["exclusions"]?.array ?? [])
            if actual != expected { fail("assertion.bmffHash.mismatch", "the file's boxes do not hash to the signed value") }
        } else {
            fail("claim.hardBindings.missing", "no c2pa.hash.bmff assertion")
        }

        // The signature.
        do {
            guard case .tagged(18, let sign1)? = try? CBOR.decode(signatureBytes), let parts = sign1.array, parts.count == 4,
                  let protected = parts[0].bytes, let signature = parts[3].bytes else {
                throw ProvenanceError("the signature is not a tagged COSE_Sign1")
            }
            let header = try CBOR.decode(protected)
            guard header[1]?.intValue == -7 else { throw ProvenanceError("algorithm \(header[1]?.intValue.map(String.init) ?? "none") is not ES256") }
            let chainDER: [Data]
            switch header[33] {
            case .bytes(let d)?: chainDER = [d]
            case .array(let items)?: chainDER = items.compactMap(\.bytes)
            default: throw ProvenanceError("no x5chain in the protected header")
            }
            let chain = try chainDER.map { try Certificate(derEncoded: Array($0)) }
            guard let leaf = chain.first else { throw ProvenanceError("empty x5chain") }
            report.signerCertificate = leaf
            report.signer = leaf.subject.description
            let toBeSigned = COSE.toBeSigned(protected: protected, payload: claimBytes)
            guard let key = P256.Signing.PublicKey(leaf.publicKey), let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
                  key.isValidSignature(ecdsa, for: toBeSigned) else {
                fail("claimSignature.mismatch", "the claim signature does not verify with the signer's key")
                return finish(report)
            }
            if now < leaf.notValidBefore || now > leaf.notValidAfter {
                fail("signingCredential.expired", "the signing certificate is valid \(leaf.notValidBefore) to \(leaf.notValidAfter)")
            }
            if !chainsToAnchor(chain, anchors: trustAnchors) {
                fail("signingCredential.untrusted", "the signer (\(leaf.issuer)) does not chain to a trusted root")
            }
        } catch {
            fail("claimSignature.mismatch", "\(error)")
        }
        return finish(report)
    }

    static func finish(_ report: C2PAReport) -> C2PAReport {
        var r = report
        if r.failures.isEmpty { r.state = "Trusted" } else if r.failures == ["signingCredential.untrusted"] { r.state = "Valid" } else { r.state = "Invalid" }
        return r
    }

    static func chainsToAnchor(_ chain: [Certificate], anchors: [Certificate]) -> Bool {
        var current = chain[0]
        var rest = Array(chain.dropFirst())
        for _ in 0..<8 {
            if let anchor = anchors.first(where: { $0.subject == current.issuer }),
               anchor.publicKey.isValidSignature(current.signature, for: current) {
                return true
            }
            guard let nextIndex = rest.firstIndex(where: { $0.subject == current.issuer }),
                  rest[nextIndex].publicKey.isValidSignature(current.signature, for: current) else { return false }
            current = rest.remove(at: nextIndex)
        }
        return false
    }

    /// BMFF v2/v3 hash with the exclusions a manifest lists (top-level xpaths, optional data match):
    /// each remaining top-level box, preceded by its absolute offset (u64, big-endian).
    static func bmffHash(of data: Data, exclusions: [CBOR]) throws -> Data {
        var hasher = SHA256()
        for box in try BMFF.topLevelBoxes(of: data) {
            let excluded = exclusions.contains { exclusion in
                guard let xpath = exclusion["xpath"]?.text, xpath == "/" + box.type else { return false }
                if let length = exclusion["length"]?.intValue, length != box.size { return false }
                for match in exclusion["data"]?.array ?? [] {
                    guard let offset = match["offset"]?.intValue, let value = match["value"]?.bytes,
                          offset + value.count <= box.size else { return false }
                    let s = data.startIndex + box.offset + offset
                    if data[s..<(s + value.count)] != value { return false }
                }
                return true
            }
            if excluded { continue }
            var offset = Data()
            offset.appendUInt64(UInt64(box.offset))
            hasher.update(data: offset)
            hasher.update(data: data[(data.startIndex + box.offset)..<(data.startIndex + box.end)])
        }
        return Data(hasher.finalize())
    }
}
