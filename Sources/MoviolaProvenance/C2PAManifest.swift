import Crypto
import Foundation

/// What a Moviola output's C2PA manifest says about it.
public struct ManifestContent: Sendable {
    /// An input the clip was made from (an image-to-video first frame, a clip being extended).
    public struct Ingredient: Sendable {
        public var title: String
        public var format: String
        public var sha256: Data
        public init(title: String, format: String, sha256: Data) {
            self.title = title
            self.format = format
            self.sha256 = sha256
        }
    }

    public var title: String
    public var produceID: String
    public var modelName: String
    public var modelVersion: String
    public var generatorVersion: String
    public var created: Date
    public var ingredients: [Ingredient]
    /// The soft binding: the watermark algorithm, its payload, and the clip's length in milliseconds.
    public var watermarkAlgorithm: String
    public var watermarkPayload: Data
    public var durationMilliseconds: Int
    /// The GB 45438 implicit label, mirrored so the signature covers it.
    public var aigcJSON: Data
    /// The visible label's text, or nil when the operator turned it off.
    public var visibleLabel: String?

    public init(title: String, produceID: String, modelName: String, modelVersion: String, generatorVersion: String,
                created: Date, ingredients: [Ingredient], watermarkAlgorithm: String, watermarkPayload: Data,
                durationMilliseconds: Int, aigcJSON: Data, visibleLabel: String?) {
        self.title = title
        self.produceID = produceID
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.generatorVersion = generatorVersion
        self.created = created
        self.ingredients = ingredients
        self.watermarkAlgorithm = watermarkAlgorithm
        self.watermarkPayload = watermarkPayload
        self.durationMilliseconds = durationMilliseconds
        self.aigcJSON = aigcJSON
        self.visibleLabel = visibleLabel
    }
}

/// Writes C2PA manifests into MP4 files: JUMBF store in a `uuid` box after `ftyp`, claim v2,
/// `c2pa.hash.bmff.v3` hard binding, COSE_Sign1 ES256 with the signer's X.509 chain.
public enum C2PAManifest {
    public static let boxUUID = Data([0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81])
    public static let trainedAlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    public static let aigcAssertionLabel = "cn.gb45438.aigc"
    public static let labelsAssertionLabel = "org.moviola.labels"

    public static func sha256(_ data: Data) -> Data { Data(SHA256.hash(data: data)) }

    /// Signs `mp4` (a complete non-fragmented MP4) and returns the file with the manifest embedded.
    public static func embed(in mp4: Data, content: ManifestContent, identity: SigningIdentity) throws -> Data {
        if let existing = try BMFF.topLevelBoxes(of: mp4).first(where: { isManifestBox(mp4, $0) }) {
            throw ProvenanceError("the file already carries a C2PA manifest at offset \(existing.offset)")
        }
        let manifestLabel = "urn:c2pa:\(UUID().uuidString.lowercased())"
        // Every field has a fixed length, so a store built around a zero hash has the final size.
        let draft = try store(content: content, identity: identity, manifestLabel: manifestLabel, bmffHash: Data(count: 32))
        let placeholderBox = uuidBox(store: draft)
        let laidOut = try BMFF.insertingAfterFileType(placeholderBox, into: mp4)
        let hash = try bmffHash(of: laidOut)
        let final = try store(content: content, identity: identity, manifestLabel: manifestLabel, bmffHash: hash)
        guard final.count == draft.count else { throw ProvenanceError("C2PA: manifest size changed between passes") }
        var out = laidOut
        let ftypEnd = try BMFF.topLevelBoxes(of: laidOut)[0].end
        out.replaceSubrange((out.startIndex + ftypEnd)..<(out.startIndex + ftypEnd + placeholderBox.count), with: uuidBox(store: final))
        return out
    }

    static func uuidBox(store: Data) -> Data {
        var payload = boxUUID
        payload.append(contentsOf: [0, 0, 0, 0])          // FullBox version 0, flags 0
        payload.append(contentsOf: Array("manifest".utf8)); payload.append(0)
        payload.appendUInt64(0)                           // no Merkle aux boxes
        payload.append(store)
        return JUMBF.box("uuid", payload)
    }

    static func isManifestBox(_ data: Data, _ box: BMFFBox) -> Bool {
        guard box.type == "uuid", box.size >= box.headerSize + 16 else { return false }
        let s = data.startIndex + box.offset + box.headerSize
        return data[s..<(s + 16)] == boxUUID
    }

    /// The `c2pa.hash.bmff.v3` hash under this writer's exclusions (`ftyp`, the C2PA `uuid` box, `mfra`).
    public static func bmffHash(of data: Data) throws -> Data {
        try C2PAVerifier.bmffHash(of: data, exclusions: exclusions.array ?? [])
    }

    static var exclusions: CBOR {
        .array([
            .object(["xpath": .text("/uuid"), "data": .array([.object(["offset": .int(8), "value": .bytes(boxUUID)])])]),
            .object(["xpath": .text("/ftyp")]),
            .object(["xpath": .text("/mfra")]),
        ])
    }

    static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    static func assertionBox(label: String, cbor: CBOR) -> Data {
        JUMBF.superbox(type: JUMBF.cborContent, label: label, children: [JUMBF.box("cbor", cbor.encoded())])
    }

    static func hashedURI(_ label: String, box: Data) -> CBOR {
        .object(["url": .text("self#jumbf=c2pa.assertions/\(label)"), "alg": .text("sha256"),
                 "hash": .bytes(Data(SHA256.hash(data: box.dropFirst(8))))])
    }

    /// The manifest store (JUMBF) for `content`, bound to the given BMFF hash.
    static func store(content: ManifestContent, identity: SigningIdentity, manifestLabel: String, bmffHash: Data) throws -> Data {
        var assertions: [(String, Data)] = []
        let agent: CBOR = .object(["name": .text(content.modelName), "version": .text(content.modelVersion)])
        var ingredientURIs: [CBOR] = []
        for (i, ingredient) in content.ingredients.enumerated() {
            let label = i == 0 ? "c2pa.ingredient.v3" : "c2pa.ingredient.v3__\(i + 1)"
            let box = assertionBox(label: label, cbor: .object([
                "dc:title": .text(ingredient.title),
                "dc:format": .text(ingredient.format),
                "relationship": .text("inputTo"),
                "org.moviola.sha256": .bytes(ingredient.sha256),
            ]))
            assertions.append((label, box))
            ingredientURIs.append(hashedURI(label, box: box))
        }
        var created: [(CBOR, CBOR)] = [
            (.text("action"), .text("c2pa.created")),
            (.text("digitalSourceType"), .text(trainedAlgorithmicMedia)),
            (.text("softwareAgent"), agent),
            (.text("when"), .text(iso8601(content.created))),
        ]
        if !ingredientURIs.isEmpty { created.append((.text("parameters"), .object(["ingredients": .array(ingredientURIs)]))) }
        var actionList: [CBOR] = [.map(created)]
        actionList.append(.object(["action": .text("c2pa.watermarked"), "softwareAgent": agent,
                                   "description": .text("invisible watermark in luma carrying the ProduceID")]))
        let labelDescription = content.visibleLabel.map { "visible label burned in: \($0)" } ?? "visible label turned off by the operator"
        actionList.append(.object(["action": .text("c2pa.edited"), "softwareAgent": agent, "description": .text(labelDescription)]))
        assertions.append(("c2pa.actions.v2", assertionBox(label: "c2pa.actions.v2", cbor: .object(["actions": .array(actionList)]))))
        assertions.append(("c2pa.soft-binding", assertionBox(label: "c2pa.soft-binding", cbor: .object([
            "alg": .text(content.watermarkAlgorithm),
            "blocks": .array([.object([
                "scope": .object(["timespan": .object(["start": .int(0), "end": .int(content.durationMilliseconds)])]),
                "value": .bytes(content.watermarkPayload),
            ])]),
        ]))))
        assertions.append(("c2pa.hash.bmff.v3", assertionBox(label: "c2pa.hash.bmff.v3", cbor: .object([
            "exclusions": exclusions, "alg": .text("sha256"), "hash": .bytes(bmffHash), "name": .text("jumbf manifest"),
        ]))))
        guard let aigc = String(data: content.aigcJSON, encoding: .utf8) else { throw ProvenanceError("AIGC label is not UTF-8") }
        assertions.append((aigcAssertionLabel, assertionBox(label: aigcAssertionLabel, cbor: .object(["AIGC": .text(aigc)]))))
        assertions.append((labelsAssertionLabel, assertionBox(label: labelsAssertionLabel, cbor: .object([
            "visible": .bool(content.visibleLabel != nil),
            "text": content.visibleLabel.map { .text($0) } ?? .null,
            "watermark": .bool(true), "aigcMetadata": .bool(true),
        ]))))

        let claim: CBOR = .object([
            "instanceID": .text("xmp:iid:\(content.produceID)"),
            "claim_generator_info": .object(["name": .text("Moviola"), "version": .text(content.generatorVersion)]),
            "signature": .text("self#jumbf=c2pa.signature"),
            "created_assertions": .array(assertions.map { hashedURI($0.0, box: $0.1) }),
            "dc:title": .text(content.title),
            "alg": .text("sha256"),
        ])
        let claimBytes = claim.encoded()
        let signature = try COSE.sign1(payload: claimBytes, identity: identity)

        let assertionStore = JUMBF.superbox(type: JUMBF.assertionStore, label: "c2pa.assertions", children: assertions.map(\.1))
        let claimBox = JUMBF.superbox(type: JUMBF.claim, label: "c2pa.claim.v2", children: [JUMBF.box("cbor", claimBytes)])
        let signatureBox = JUMBF.superbox(type: JUMBF.signature, label: "c2pa.signature", children: [JUMBF.box("cbor", signature)])
        let manifest = JUMBF.superbox(type: JUMBF.manifest, label: manifestLabel, children: [assertionStore, claimBox, signatureBox])
        return JUMBF.superbox(type: JUMBF.manifestStore, label: "c2pa", children: [manifest])
    }
}

/// COSE_Sign1 (RFC 9052) with a detached payload, as C2PA claim signatures use.
public enum COSE {
    public static func protectedHeader(_ identity: SigningIdentity) throws -> Data {
        let chain = try identity.chainDER()
        let x5chain: CBOR = chain.count == 1 ? .bytes(chain[0]) : .array(chain.map { .bytes($0) })
        return CBOR.map([(.int(1), .int(-7)), (.int(33), x5chain)]).encoded()
    }

    static func toBeSigned(protected: Data, payload: Data) -> Data {
        CBOR.array([.text("Signature1"), .bytes(protected), .bytes(Data()), .bytes(payload)]).encoded()
    }

    public static func sign1(payload: Data, identity: SigningIdentity) throws -> Data {
        let protected = try protectedHeader(identity)
        let signature = try identity.sign(toBeSigned(protected: protected, payload: payload))
        return CBOR.tagged(18, .array([.bytes(protected), .object(["pad": .bytes(Data(count: 16))]), .null, .bytes(signature)])).encoded()
    }
}
