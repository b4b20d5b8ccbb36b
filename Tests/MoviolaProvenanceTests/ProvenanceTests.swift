import Foundation
import Testing
@testable import MoviolaProvenance

@Suite struct CBORTests {
    func hex(_ d: Data) -> String { d.map { String(format: "%02x", $0) }.joined() }

    @Test func shortestHeadsAsRFC8949() {
        #expect(hex(CBOR.int(0).encoded()) == "00")
        #expect(hex(CBOR.int(23).encoded()) == "17")
        #expect(hex(CBOR.int(24).encoded()) == "1818")
        #expect(hex(CBOR.int(1000).encoded()) == "1903e8")
        #expect(hex(CBOR.int(1_000_000).encoded()) == "1a000f4240")
        #expect(hex(CBOR.int(-7).encoded()) == "26")
        #expect(hex(CBOR.text("IETF").encoded()) == "6449455446")
        #expect(hex(CBOR.tagged(18, .null).encoded()) == "d2f6")
    }

    @Test func mapKeysSortedByEncodedBytes() {
        // Deterministic order: shorter encodings first, then bytewise ("b" < "aa").
        let map = CBOR.map([(.text("aa"), .int(1)), (.text("b"), .int(2)), (.int(33), .int(3)), (.int(1), .int(4))])
        #expect(hex(map.encoded()) == "a4" + "0104" + "182103" + "616202" + "62616101")
    }

    @Test func decodesWhatItEncodes() throws {
        let value = CBOR.object(["a": .array([.int(-1), .bytes(Data([1, 2])), .bool(true), .null]), "b": .tagged(18, .text("x"))])
        #expect(try CBOR.decode(value.encoded()) == value)
    }

    @Test func rejectsTruncatedAndTrailingInput() {
        #expect(throws: ProvenanceError.self) { try CBOR.decode(Data([0x62, 0x61])) }
        #expect(throws: ProvenanceError.self) { try CBOR.decode(Data([0x01, 0x02])) }
        #expect(throws: ProvenanceError.self) { try CBOR.decode(Data([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) }
    }
}

@Suite struct ManifestTests {
    /// A minimal faststart MP4 layout: ftyp, moov with one stco, mdat.
    func tinyMP4() -> Data {
        func box(_ type: String, _ payload: Data) -> Data { JUMBF.box(type, payload) }
        var stcoPayload = Data([0, 0, 0, 0, 0, 0, 0, 1])
        stcoPayload.appendUInt32(0)   // patched below
        let moov = box("moov", box("trak", box("mdia", box("minf", box("stbl", box("stco", stcoPayload))))))
        let ftyp = box("ftyp", Data("isom\0\0\u{2}\0isomavc1".utf8))
        var file = ftyp + moov + box("mdat", Data(repeating: 7, count: 64))
        let mdatData = ftyp.count + moov.count + 8
        let stcoEntry = ftyp.count + moov.count - 4
        BMFF.writeUInt32(&file, stcoEntry, UInt32(mdatData))
        return file
    }

    func scratch() -> String {
        NSTemporaryDirectory() + "moviola-ca-\(UUID().uuidString)"
    }

    func content() -> ManifestContent {
        ManifestContent(title: "t.mp4", produceID: "MV-0000000000000001", modelName: "test", modelVersion: "1", generatorVersion: "1",
                        created: Date(timeIntervalSince1970: 1_800_000_000), ingredients: [], watermarkAlgorithm: "org.moviola.watermark.tile16.v1",
                        watermarkPayload: Data(count: 8), durationMilliseconds: 1000, aigcJSON: Data("{}".utf8), visibleLabel: "AI")
    }

    @Test func insertionKeepsChunkOffsetsPointingAtTheMedia() throws {
        let file = tinyMP4()
        let inserted = try BMFF.insertingAfterFileType(JUMBF.box("free", Data(count: 100)), into: file)
        let boxes = try BMFF.topLevelBoxes(of: inserted)
        #expect(boxes.map(\.type) == ["ftyp", "free", "moov", "mdat"])
        let entry = boxes[2].end - 4
        #expect(Int(BMFF.readUInt32(inserted, entry)) == boxes[3].offset + 8)
    }

    @Test func signedFileVerifiesAndTamperingIsCaught() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let identity = try CertificateAuthority(directory: dir).create(organization: "Test")
        let signed = try C2PAManifest.embed(in: tinyMP4(), content: content(), identity: identity)
        let trusted = try C2PAVerifier.verify(mp4: signed, trustAnchors: [identity.root!])
        #expect(trusted.state == "Trusted")
        #expect(trusted.failures.isEmpty)
        #expect(trusted.actions.first == "c2pa.created")
        let untrusted = try C2PAVerifier.verify(mp4: signed, trustAnchors: [])
        #expect(untrusted.state == "Valid")
        #expect(untrusted.failures == ["signingCredential.untrusted"])
        var tampered = signed
        tampered[tampered.count - 3] ^= 1
        let invalid = try C2PAVerifier.verify(mp4: tampered, trustAnchors: [identity.root!])
        #expect(invalid.state == "Invalid")
        #expect(invalid.failures.contains("assertion.bmffHash.mismatch"))
        #expect(throws: ProvenanceError.self) { try C2PAManifest.embed(in: signed, content: content(), identity: identity) }
    }

    @Test func anotherRootDoesNotMakeItTrusted() throws {
        let (a, b) = (scratch(), scratch())
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let mine = try CertificateAuthority(directory: a).create(organization: "Mine")
        let other = try CertificateAuthority(directory: b).create(organization: "Other")
        let signed = try C2PAManifest.embed(in: tinyMP4(), content: content(), identity: mine)
        #expect(try C2PAVerifier.verify(mp4: signed, trustAnchors: [other.root!]).state == "Valid")
    }

    @Test func aigcSignatureCoversTheFields() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let identity = try CertificateAuthority(directory: dir).create(organization: "Test")
        var label = AIGCLabel(contentProducer: "provider-1", produceID: "MV-00000000000000AB")
        try label.sign(with: identity)
        let parsed = try AIGCLabel.parse(label.json)
        #expect(parsed == label)
        #expect(parsed.signatureIsValid(for: identity.signer))
        var forged = parsed
        forged.produceID = "MV-00000000000000AC"
        #expect(!forged.signatureIsValid(for: identity.signer))
        #expect(throws: ProvenanceError.self) { try AIGCLabel.parse("{\"AIGC\":{\"Label\":\"0\"}}") }
    }

    @Test func notAnMP4IsAClearError() {
        #expect(throws: ProvenanceError.self) { try BMFF.topLevelBoxes(of: Data("hello world, not a video".utf8)) }
        #expect(throws: ProvenanceError.self) { try BMFF.topLevelBoxes(of: Data([0, 0, 0, 200, 0x66, 0x74, 0x79, 0x70])) }
    }

    @Test func importRefusesACertificateAuthorityAsSigner() throws {
        let (a, b) = (scratch(), scratch())
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        _ = try CertificateAuthority(directory: a).create(organization: "Test")
        let root = try String(contentsOfFile: a + "/root.pem", encoding: .utf8)
        let rootKey = try String(contentsOfFile: a + "/root.key.pem", encoding: .utf8)
        #expect(throws: ProvenanceError.self) {
            try CertificateAuthority(directory: b).importIdentity(chainPEM: root, keyPEM: rootKey, rootPEM: nil)
        }
    }
}
