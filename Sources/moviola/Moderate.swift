import ArgumentParser
import Foundation
import MoviolaMedia
import MoviolaSafety

/// `moviola moderate`: what the content policy decides for a prompt (and image facts), for operators testing a policy.
struct Moderate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a prompt against the content policy (the shipped default, or --policy FILE).",
        discussion: """
            Prints the verdict: allowed or not, the category and rule, the policy version, and which terms matched \
            in which view of the text (as written; folded confusables/leetspeak/Traditional Chinese; with separators \
            removed; as pinyin). With --image, the picture is decoded and searched for human faces (OpenCV's \
            frontal-face cascade from opencv-data), as `serve` does for first frames. Exit status 0 when allowed, \
            3 when refused.
            """
    )

    @Argument(help: "The prompt, in any language.") var prompt: String
    @Option(help: "A policy file (YAML or JSON); default: the shipped policy.") var policy: String?
    @Option(help: "The negative prompt.") var negativePrompt = ""
    @Option(help: "An input image (first frame) to check with the prompt.") var image: String?
    @Flag(help: "The request attests that the people in its image consented.") var consent = false
    @Flag(help: "Print the verdict as JSON.") var json = false

    func run() throws {
        let store: PolicyStore
        do { store = try PolicyStore(path: policy) } catch { throw fail("\(error)") }
        let compiled = store.policy
        var facts: ImageFacts?
        if let image {
            do {
                let picture = try MediaReader.decodeImage(path: image)
                let faces = try HaarCascade().detect(GrayImage(width: picture.width, height: picture.height, rgb: picture.pixels))
                facts = ImageFacts(faces: faces.count)
                if !json { print("image: \(picture.width)x\(picture.height), \(faces.count) face(s)") }
            } catch {
                throw fail("\(image): \(error)")
            }
        }
        let verdict = compiled.judge(prompt: prompt, negativePrompt: negativePrompt, image: facts, consent: facts == nil ? nil : consent)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(verdict), as: UTF8.self))
        } else {
            print("\(verdict.allowed ? "allowed" : "refused")\(verdict.action == "review" ? " (recorded for review)" : "") — policy \(verdict.policyVersion)")
            if let category = verdict.category { print("category: \(category)" + (verdict.rule.map { ", rule: \($0)" } ?? "")) }
            print("message: \(verdict.message)")
            for match in verdict.matches { print("matched \(match.category): \"\(match.term)\" as \"\(match.text)\" (\(match.view))") }
            if !verdict.signals.isEmpty { print("signals: \(verdict.signals.joined(separator: ", "))") }
        }
        if !verdict.allowed { throw ExitCode(3) }
    }
}
