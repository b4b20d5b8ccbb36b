import ArgumentParser
import Foundation
import MoviolaProvenance

/// Where Moviola keeps its state (signing keys, audit log): `MOVIOLA_DATA`, else `data/` under the home folder.
enum MoviolaData {
    static var path: String {
        ProcessInfo.processInfo.environment["MOVIOLA_DATA"] ?? MoviolaHome.resolve("data")
    }
    static var certificateAuthority: CertificateAuthority {
        CertificateAuthority(directory: (path as NSString).appendingPathComponent("ca"))
    }
}

struct CA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "The signing credentials for C2PA manifests and AIGC labels.",
        subcommands: [Init.self, Import.self, Root.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a private root CA and a signing certificate with the C2PA claim-signing EKU.")
        @Option(help: "Organisation named in the certificates.")
        var organization = "Moviola operator"
        @Flag(help: "Replace an existing CA.")
        var force = false

        func run() throws {
            do {
                let ca = MoviolaData.certificateAuthority
                let identity = try ca.create(organization: organization, force: force)
                print("created \(ca.directory): root \"\(identity.root?.subject.description ?? "")\", signer \"\(identity.signer.subject)\"")
                print("give verifiers the root: moviola ca root > root.pem")
            } catch { throw fail("\(error)") }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Use the operator's own signing certificate chain (PEM, signer first) and P-256 key.")
        @Option(help: "PEM file: the signing certificate, then any intermediates.")
        var chain: String
        @Option(help: "PEM file: the signing certificate's P-256 private key.")
        var key: String
        @Option(help: "PEM file: the root certificate verifiers should trust (printed by `moviola ca root`).")
        var root: String?

        func run() throws {
            do {
                func text(_ path: String) throws -> String {
                    guard let d = FileManager.default.contents(atPath: path), let s = String(data: d, encoding: .utf8) else {
                        throw ProvenanceError("cannot read \(path)")
                    }
                    return s
                }
                let identity = try MoviolaData.certificateAuthority.importIdentity(
                    chainPEM: try text(chain), keyPEM: try text(key), rootPEM: try root.map(text))
                print("imported signer \"\(identity.signer.subject)\" into \(MoviolaData.certificateAuthority.directory)")
            } catch { throw fail("\(error)") }
        }
    }

    struct Root: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the root certificate (PEM) for verifiers' trust lists.")
        func run() throws {
            do { print(try MoviolaData.certificateAuthority.rootPEM(), terminator: "") } catch { throw fail("\(error)") }
        }
    }
}
