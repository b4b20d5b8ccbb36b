import Foundation
import Testing
@testable import MoviolaEngine

@Suite struct ModelCardTests {
    static let json = #"""
    {"config": "t", "short_side": 64, "frames": 9, "fps": 16, "steps": 20,
     "limits": "draws blobs", "limits_zh": "画出色块",
     "vocabulary": {
       "kinds": {"car": {"en": ["car", "cars", "toy car"], "zh": ["汽车", "车"]}, "star": {"en": ["star", "stars"], "zh": ["星星"]}},
       "colours": {"red": {"en": ["red", "bright red"], "zh": ["红色"]}},
       "backgrounds": {"night": {"en": ["in the night sky"], "zh": ["夜空"]}},
       "counts": [1, 2, 3, 4], "motions": ["left", "right"], "speeds": ["slow", "fast"],
       "cameras": ["static", "zoom_in"], "aspects": ["16:9", "1:1"]}}
    """#

    func card() throws -> ModelCard {
        let dir = scratchDirectory("card")
        try Self.json.write(toFile: dir + "/moviola.json", atomically: true, encoding: .utf8)
        return try #require(try ModelCard.load(folder: dir))
    }

    @Test func findsConceptsInEnglishAndChinese() throws {
        let card = try card()
        #expect(card.knownConcepts(in: "Three RED cars drive left") == ["kinds": ["car"], "colours": ["red"]])
        #expect(card.knownConcepts(in: "一辆红色的汽车在夜空中") == ["kinds": ["car"], "colours": ["red"], "backgrounds": ["night"]])
        #expect(card.steps == 20 && card.shortSide == 64)
        #expect(card.limits == "draws blobs" && card.limitsZH == "画出色块")
    }

    @Test func outOfDomainPromptsKnowNothing() throws {
        let card = try card()
        #expect(card.knownConcepts(in: "a dog chases a cat through the kitchen").isEmpty)
        // Whole words only: "scarf" contains "car" but is not a car.
        #expect(card.knownConcepts(in: "a scarf").isEmpty)
    }

    @Test func foldersWithoutACardHaveNone() throws {
        #expect(try ModelCard.load(folder: Fixtures.path("tiny-wan-t2v")) == nil)
    }
}
