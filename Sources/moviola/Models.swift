import ArgumentParser
import Foundation
import MoviolaEngine

/// `moviola models`: what a model folder is and what it can draw.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model folder's components, defaults and vocabulary (default: the bundled model)."
    )

    @Option(help: "A diffusers Wan pipeline folder (default: models/moviola-mini).")
    var model: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let path = model ?? MoviolaHome.resolve("models/moviola-mini")
        guard FileManager.default.fileExists(atPath: path) else {
            throw fail(model == nil ? "the bundled model (models/moviola-mini) is not there yet; pass --model DIR" : "\(path): model folder not found")
        }
        do {
            let folder = try PipelineFolder(path: path)
            let card = try ModelCard.load(folder: path)
            if json {
                var object: [String: Any] = ["path": path, "pipeline": folder.pipelineClass, "components": folder.components]
                if let data = FileManager.default.contents(atPath: (path as NSString).appendingPathComponent("moviola.json")),
                   let extra = try? JSONSerialization.jsonObject(with: data) as? [String: Any] { object["card"] = extra }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("model: \(path) (\(folder.pipelineClass))")
            print("components: " + folder.components.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
            guard let card else {
                print("no moviola.json: no vocabulary or defaults recorded (a general-purpose checkpoint)")
                return
            }
            print("defaults: short side \(card.shortSide.map(String.init) ?? "-") px, \(card.frames.map(String.init) ?? "-") frames at \(card.fps.map(String.init) ?? "-") fps, \(card.steps.map(String.init) ?? "-") steps"
                  + (card.outputShortSide.map { side in "; written at \(side) px short side, \(card.outputFPS ?? card.fps ?? 16) fps" } ?? ""))
            if let limits = card.limits { print("limits: \(limits)") }
            guard let v = card.vocabulary else { return }
            func table(_ name: String, _ terms: [String: ModelCard.Terms]) {
                print("\(name):")
                for key in terms.keys.sorted() {
                    let t = terms[key]!
                    print("  \(key): \(t.en.joined(separator: ", ")) | \(t.zh.prefix(4).joined(separator: "、"))")
                }
            }
            table("objects", v.kinds)
            table("colours", v.colours)
            print("counts: \(v.counts.map(String.init).joined(separator: ", "))")
            print("motions: \(v.motions.joined(separator: ", ")) (speeds: \(v.speeds.joined(separator: ", ")))")
            print("backgrounds: \(v.backgrounds.keys.sorted().joined(separator: ", "))")
            print("camera moves: \(v.cameras.joined(separator: ", "))")
            print("aspect ratios: \(v.aspects.joined(separator: ", "))")
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }
}
