import ArgumentParser
import MoviolaTensor

/// The program's entry point.
@main
enum Entry {
    static func main() async {
        // Must run before any BLAS work: OpenBLAS reads its core type once, at start-up.
        BLASCore.relaunchWithPreferredCoreIfNeeded()
        BLASCore.configureAllocator()
        do {
            var command = try Moviola.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Moviola.exit(withError: error)
        }
    }
}
