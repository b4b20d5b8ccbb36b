import Foundation
import Testing
@testable import MoviolaEngine

struct TokenizerCase: Decodable, CustomTestStringConvertible {
    let text: String
    let huggingface: [Int]
    let sentencepiece: [Int]
    let max_length: Int?
    var testDescription: String { text.isEmpty ? "(empty)" : String(text.prefix(30)) + (max_length.map { " max \($0)" } ?? "") }

    static func all() throws -> [TokenizerCase] {
        try JSONDecoder().decode([TokenizerCase].self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizer/cases.json"))))
    }
}

@Suite struct TokenizerTests {
    static let huggingFace = try! UnigramTokenizer(tokenizerJSON: Fixtures.path("tokenizer/tokenizer.json"))
    static let sentencePiece = try! UnigramTokenizer(sentencePieceModel: Fixtures.path("tokenizer/spiece.model"))

    @Test(arguments: try TokenizerCase.all())
    func tokenizerJSONMatchesHuggingFaceTokenizers(_ c: TokenizerCase) {
        #expect(Self.huggingFace.encode(c.text, maxLength: c.max_length) == c.huggingface)
    }

    @Test(arguments: try TokenizerCase.all())
    func spieceModelMatchesSentencePiece(_ c: TokenizerCase) {
        #expect(Self.sentencePiece.encode(c.text, maxLength: c.max_length) == c.sentencepiece)
    }

    @Test func bothFormatsShareTheVocabulary() {
        #expect(Self.huggingFace.pieces == Self.sentencePiece.pieces)
        #expect(Self.huggingFace.unknownID == 2)
        #expect(Self.huggingFace.endOfSequenceID == 1)
    }

    @Test func folderLoadingPrefersTokenizerJSON() throws {
        let tokenizer = try UnigramTokenizer.load(directory: Fixtures.path("tokenizer"))
        #expect(tokenizer.flavor == .huggingFace)
        #expect(throws: EngineError.self) { try UnigramTokenizer.load(directory: Fixtures.path("transformer")) }
    }

    @Test func corruptModelFilesAreRejected() throws {
        let path = scratchDirectory("tokenizer") + "/spiece.model"
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizer/spiece.model")))
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: path))
        #expect(throws: EngineError.self) { try UnigramTokenizer(sentencePieceModel: path) }
        try Data("{\"model\": {\"type\": \"BPE\"}}".utf8).write(to: URL(fileURLWithPath: path + ".json"))
        #expect(throws: EngineError.self) { try UnigramTokenizer(tokenizerJSON: path + ".json") }
    }
}
