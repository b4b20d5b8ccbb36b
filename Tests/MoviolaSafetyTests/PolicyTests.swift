import Foundation
import MoviolaSafety
import Testing

@Suite("Content policy")
struct PolicyTests {
    static let policy = CompiledPolicy(try! Policy.shipped().policy)

    func refused(_ prompt: String, image: ImageFacts? = nil, consent: Bool? = nil) -> Verdict {
        Self.policy.judge(prompt: prompt, image: image, consent: consent)
    }

    @Test("evasions of blocked terms are caught, each in the view that undoes it", arguments: [
        ("porn video", "sexual_content", "text"),
        ("ｐｏｒｎ video", "sexual_content", "text"),                 // full-width (NFKC)
        ("PORN video", "sexual_content", "text"),                     // case
        ("p\u{200B}o\u{200D}rn video", "sexual_content", "text"),     // zero-width joiners
        ("p\u{202E}orn video", "sexual_content", "text"),             // bidi override
        ("pоrn video", "sexual_content", "skeleton"),                 // Cyrillic о (UTS #39 confusable)
        ("𝐩𝐨𝐫𝐧 video", "sexual_content", "text"),                    // mathematical bold (NFKC)
        ("p0rn video", "sexual_content", "skeleton"),                 // leetspeak
        ("n@k3d woman", "sexual_content", "skeleton"),
        ("p o r n video", "sexual_content", "joined"),                // spacing inside the word
        ("p.o.r.n video", "sexual_content", "joined"),                // punctuation inside the word
        ("po*rn video", "sexual_content", "joined"),
        ("beheadings in a desert", "graphic_gore", "text"),           // inflection
        ("a man beheaded", "graphic_gore", "text"),
        ("一段裸體影片", "sexual_content", "skeleton"),                // Traditional Chinese
        ("一段裸 体影片", "sexual_content", "joined"),
        ("luoti nvren", "sexual_content", "pinyin"),                  // pinyin without tones
        ("luǒ tǐ nǚ rén", "sexual_content", "pinyin"),                // pinyin with tone marks
        ("luo3 ti3", "sexual_content", "pinyin"),                     // pinyin with tone numbers
        ("涩情视频", "sexual_content", "pinyin"),                      // homophone characters
        ("self harm tips", "self_harm", "text"),
        ("教你 自 杀 方 法", "self_harm", "joined"),
    ])
    func evasions(prompt: String, category: String, view: String) {
        let verdict = refused(prompt)
        #expect(!verdict.allowed, "\(prompt)")
        #expect(verdict.category == category, "\(prompt)")
        #expect(verdict.matches.contains { $0.view == view }, "\(prompt): \(verdict.matches)")
        #expect(verdict.input == .prompt)
        #expect(verdict.policyVersion == "default-2026.11.1")
    }

    @Test("innocent uses of blocked words are allowed", arguments: [
        "a shot of espresso", "the naked eye can see Jupiter", "a comic strip about a cat", "Al Gore gives a speech",
        "a therapist listens", "kill the engine and coast", "a red ball bounces on grass", "红色情人节的玫瑰花",
        "3 yellow stars rotate", "a 3d model of a house", "nude lipstick on a table", "Essex countryside at dawn",
        "两个蓝色的球向左移动，镜头缓缓拉近", "a sweater with a strip of red", "shooting stars over the sea",
    ])
    func benign(prompt: String) {
        let verdict = refused(prompt)
        #expect(verdict.allowed, "\(prompt): \(verdict.matches)")
        #expect(verdict.action == "allow")
    }

    @Test("rules combine the prompt with the image")
    func rules() {
        let face = ImageFacts(faces: 1)
        let undress = refused("make her take off her clothes", image: face, consent: true)
        #expect(!undress.allowed && undress.rule == "real_person_undress" && undress.category == "ncii")
        #expect(refused("make her take off her clothes").allowed, "undress intent alone is a signal, not a refusal")
        let noConsent = refused("she waves and smiles", image: face, consent: false)
        #expect(!noConsent.allowed && noConsent.rule == "real_person_needs_consent" && noConsent.input == .image)
        #expect(refused("she waves and smiles", image: face, consent: true).allowed)
        #expect(refused("a cat waves", image: ImageFacts(faces: 0), consent: false).allowed)
    }

    @Test("the output check applies image rules to generated frames, without the input-consent rule")
    func output() {
        let people = Self.policy.judgeOutput(prompt: "a woman walks in the park", frames: ImageFacts(faces: 2))
        #expect(people.allowed, "generated people need no consent attestation")
        let undressed = Self.policy.judgeOutput(prompt: "she takes off her clothes", frames: ImageFacts(faces: 1))
        #expect(!undressed.allowed && undressed.input == .output && undressed.rule == "real_person_undress")
        #expect(Self.policy.judgeOutput(prompt: "she takes off her clothes", frames: ImageFacts(faces: 0)).allowed)
    }

    @Test("a malformed policy is refused with its line and reason")
    func errors() {
        func line(_ text: String) -> (Int?, String) {
            do { _ = try Policy.parse(text); return (nil, "parsed") } catch let error as PolicyError { return (error.line, error.message) } catch { return (nil, "\(error)") }
        }
        let badAction = line("categories:\n  brands:\n    action: forbid\n    terms: [acme]\n")
        #expect(badAction.0 == 3 && badAction.1.contains("block, review, allow or flag"))
        let badYAML = line("categories:\n  brands:\n    action: block\n    terms: [acme\n")
        #expect(badYAML.0 != nil && badYAML.1.contains("YAML"))
        let unknownKey = line("categories:\n  brands:\n    action: block\n    termz: [acme]\n")
        #expect(unknownKey.0 == 4 && unknownKey.1.contains("termz"))
        let badRule = line("categories:\n  a:\n    action: flag\n    terms: [x]\nrules:\n  - id: r\n    action: block\n    when: {prompt_category: missing}\n")
        #expect(badRule.0 == 8 && badRule.1.contains("missing"))
    }

    @Test("operators add categories without code; a failed reload keeps the previous policy")
    func reload() throws {
        let path = NSTemporaryDirectory() + "policy-\(UUID().uuidString).yaml"
        try "version: v1\ncategories:\n  brands:\n    action: block\n    description: Competitor brands\n    terms: [acme cola, 极品可乐]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let store = try PolicyStore(path: path)
        #expect(!store.policy.judge(prompt: "an Acme Cola can").allowed)
        #expect(!store.policy.judge(prompt: "一罐極品可樂").allowed)
        try "version: v2\ncategories:\n  brands:\n    action: nope\n".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .failure(let error) = store.reload() else { Issue.record("a broken policy loaded"); return }
        #expect(error.line == 4)
        #expect(store.policy.policy.version == "v1")
        try "version: v3\ncategories:\n  brands:\n    action: review\n    terms: [acme cola]\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try store.reload().get() == "v3")
        let review = store.policy.judge(prompt: "an acme cola can")
        #expect(review.allowed && review.action == "review" && review.policyVersion == "v3")
    }
}
