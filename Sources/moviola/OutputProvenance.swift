import Foundation
import MoviolaMedia
import MoviolaProvenance

/// The provenance of one output: its ProduceID, the signed AIGC label for the file's metadata, and
/// the C2PA manifest signed over the finished file.
struct OutputProvenance {
    static let generatorVersion = "0.1.0"
    let identity: SigningIdentity
    let produceID: String
    let contentID: UInt64
    var aigc: AIGCLabel
    let visibleLabel: String?

    init(contentProducer: String, visibleLabel: String?) throws {
        let (identity, created) = try MoviolaData.certificateAuthority.loadOrCreate(organization: "Moviola operator")
        if created {
            notice("created a private signing CA in \(MoviolaData.certificateAuthority.directory) (`moviola ca root` prints the root for verifiers)")
        }
        self.identity = identity
        var generator = SystemRandomNumberGenerator()
        contentID = generator.next()
        produceID = ProduceID.string(contentID)
        aigc = AIGCLabel(contentProducer: contentProducer, produceID: produceID)
        try aigc.sign(with: identity)
        self.visibleLabel = visibleLabel
    }

    /// Signs the finished MP4 at `path` in place.
    func sign(path: String, modelName: String, durationMilliseconds: Int, ingredients: [ManifestContent.Ingredient]) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw ProvenanceError("cannot read \(path)") }
        var payload = Data()
        payload.appendBigEndian(contentID)
        let content = ManifestContent(
            title: (path as NSString).lastPathComponent.replacingOccurrences(of: ".partial", with: ""),
            produceID: produceID, modelName: modelName, modelVersion: Self.generatorVersion,
            generatorVersion: Self.generatorVersion, created: Date(), ingredients: ingredients,
            watermarkAlgorithm: Watermark.algorithmName, watermarkPayload: payload,
            durationMilliseconds: durationMilliseconds, aigcJSON: Data(aigc.json.utf8), visibleLabel: visibleLabel)
        let signed = try C2PAManifest.embed(in: data, content: content, identity: identity)
        guard FileManager.default.createFile(atPath: path, contents: signed) else { throw ProvenanceError("cannot write \(path)") }
    }
}

extension Data {
    mutating func appendBigEndian(_ v: UInt64) { for k in 0..<8 { append(UInt8((v >> UInt64(56 - 8 * k)) & 0xff)) } }
}
