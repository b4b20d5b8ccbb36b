import Crypto
import Foundation
import X509

/// The GB 45438-2025 implicit label: `{"AIGC": {Label, ContentProducer, ProduceID, ReservedCode1, …}}`
/// stored as the `AIGC` metadata tag of the MP4. `ReservedCode1` is an ES256 signature (base64) by
/// the operator's signing key over the other fields, so a forged or edited label is detectable.
public struct AIGCLabel: Equatable, Sendable {
    public var contentProducer: String
    public var produceID: String
    public var contentPropagator: String = ""
    public var propagateID: String = ""
    public var signature: String = ""

    public init(contentProducer: String, produceID: String) {
        self.contentProducer = contentProducer
        self.produceID = produceID
    }

    /// The bytes that `ReservedCode1` signs: the other fields, in a fixed order, as compact JSON.
    public var signedPayload: Data {
        Data(Self.json([("Label", "1"), ("ContentProducer", contentProducer), ("ProduceID", produceID),
                        ("ContentPropagator", contentPropagator), ("PropagateID", propagateID)]).utf8)
    }

    public mutating func sign(with identity: SigningIdentity) throws {
        signature = try identity.sign(signedPayload).base64EncodedString()
    }

    public func signatureIsValid(for certificate: Certificate) -> Bool {
        guard let key = P256.Signing.PublicKey(certificate.publicKey),
              let raw = Data(base64Encoded: signature),
              let sig = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
        return key.isValidSignature(sig, for: signedPayload)
    }

    /// The metadata value: `{"AIGC":{…}}`.
    public var json: String {
        "{\"AIGC\":" + Self.json([("Label", "1"), ("ContentProducer", contentProducer), ("ProduceID", produceID),
                                  ("ReservedCode1", signature), ("ContentPropagator", contentPropagator),
                                  ("PropagateID", propagateID), ("ReservedCode2", "")]) + "}"
    }

    public static func parse(_ text: String) throws -> AIGCLabel {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let fields = object["AIGC"] as? [String: Any] else {
            throw ProvenanceError("the AIGC metadata is not a JSON object with an \"AIGC\" member")
        }
        func field(_ name: String) -> String { (fields[name] as? String) ?? (fields[name].map { "\($0)" } ?? "") }
        guard field("Label") == "1" else { throw ProvenanceError("the AIGC metadata does not say Label \"1\"") }
        var label = AIGCLabel(contentProducer: field("ContentProducer"), produceID: field("ProduceID"))
        label.contentPropagator = field("ContentPropagator")
        label.propagateID = field("PropagateID")
        label.signature = field("ReservedCode1")
        return label
    }

    static func json(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(quote($0.0)):\(quote($0.1))" }.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
