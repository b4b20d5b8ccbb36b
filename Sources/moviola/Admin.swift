import ArgumentParser
import Foundation
import MoviolaServer
import MoviolaStore

/// `moviola admin`: operator tasks on the service's database.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operator tasks: accounts, invitations, API keys, the job queue and policy verdicts.",
        subcommands: [Accounts.self, Invitations.self, Keys.self, Jobs.self, PolicyVerdicts.self]
    )

    /// Opens the service's store (migrating it), runs `body`, closes it.
    static func withStore<T: Sendable>(_ options: ServiceDataOptions, _ body: @Sendable (Store) async throws -> T) async throws -> T {
        let logger = makeLogger("moviola.admin")
        do {
            let store = try await MoviolaServer.openStore(url: options.databaseLocation, leaseSeconds: 30, logger: logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.database.run() }
                defer { group.cancelAll() }
                do {
                    try await store.migrate()
                    let result = try await body(store)
                    await store.database.close()
                    return result
                } catch {
                    await store.database.close()
                    throw error
                }
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create, list and revoke API keys.",
                                                        subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")
            @OptionGroup var storage: ServiceDataOptions
            @Option(help: "A name to recognise the key by.") var name = "default"
            @Flag(help: "A worker token for `moviola worker` (the internal API) instead of an API key.") var worker = false

            func run() async throws {
                let (name, scope) = (self.name, worker ? "worker" : "api")
                let (record, secret) = try await Admin.withStore(storage) { store in
                    let made = try await store.createAPIKey(name: name, scope: scope)
                    try await store.audit("key.created", actor: "operator-cli", subject: made.record.id, data: ["type": scope == "worker" ? "worker_token" : "operator_key"])
                    return made
                }
                print(secret)
                notice("created \(scope == "worker" ? "worker token" : "API key") \(record.id) (\(record.name)); the secret above is shown only once")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List keys (secrets are never shown).")
            @OptionGroup var storage: ServiceDataOptions

            func run() async throws {
                let keys = try await Admin.withStore(storage) { try await $0.apiKeys() }
                for key in keys {
                    let state = key.revokedAt == nil ? "active" : "revoked"
                    print("\(key.id)\t\(key.scope)\t\(key.prefix)…\t\(state)\t\(key.name)")
                }
                if keys.isEmpty { notice("no keys yet: `moviola admin keys create`") }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a key by ID.")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "The key's ID (from `keys list`).") var id: String

            func run() async throws {
                let id = self.id
                guard try await Admin.withStore(storage, { store in
                    let revoked = try await store.revokeAPIKey(id: id)
                    if revoked { try await store.audit("key.revoked", actor: "operator-cli", subject: id) }
                    return revoked
                }) else {
                    throw fail("no active key \(id)")
                }
                notice("revoked \(id)")
            }
        }
    }

    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List and cancel generations.", subcommands: [List.self, Cancel.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Newest first.")
            @OptionGroup var storage: ServiceDataOptions
            @Option(help: "queued, running, succeeded, failed or cancelled.") var state: String?
            @Option(help: "How many.") var limit = 20

            func run() async throws {
                var filter: GenerationState?
                if let state {
                    guard let parsed = GenerationState(rawValue: state) else {
                        throw fail("--state must be one of \(GenerationState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    filter = parsed
                }
                let (limit, chosen) = (self.limit, filter)
                let items = try await Admin.withStore(storage) { try await $0.generations(account: nil, state: chosen, limit: limit) }
                let formatter = ISO8601DateFormatter()
                for g in items {
                    let progress = g.state == .running ? " \(g.stage ?? "") \(g.step)/\(g.totalSteps)" : ""
                    print("\(g.id)\t\(g.state.rawValue)\(progress)\t\(formatter.string(from: Date(timeIntervalSince1970: g.createdAt)))\t\(g.produceID)\t\(g.account)")
                }
                if items.isEmpty { notice("no generations") }
            }
        }

        struct Cancel: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Cancel a queued or running generation.")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "The generation's ID.") var id: String

            func run() async throws {
                let id = self.id
                guard let after = try await Admin.withStore(storage, { try await $0.requestCancel(generationID: id) }) else {
                    throw fail("no generation \(id)")
                }
                switch after.state {
                case .cancelled: notice("\(id) cancelled")
                case .running: notice("\(id) is running; its worker stops at its next heartbeat")
                default: throw fail("\(id) already \(after.state.rawValue)")
                }
            }
        }
    }

    struct PolicyVerdicts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "policy", abstract: "Content-policy verdicts recorded by the service.",
                                                        subcommands: [Verdicts.self])

        struct Verdicts: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Refusals and verdicts to review, newest first (the full verdict, also under opaque disclosure).")
            @OptionGroup var storage: ServiceDataOptions
            @Flag(help: "Only those waiting for review (review actions and flagged accounts).") var pending = false
            @Option(help: "How many.") var limit = 50

            func run() async throws {
                let (pending, limit) = (self.pending, self.limit)
                let items = try await Admin.withStore(storage) { try await $0.verdicts(pendingOnly: pending, limit: limit) }
                let formatter = ISO8601DateFormatter()
                for v in items {
                    print("\(v.id)\t\(formatter.string(from: Date(timeIntervalSince1970: v.createdAt)))\t\(v.account)\t\(v.action)\t\(v.category ?? "-")\t\(v.prompt)")
                }
                if items.isEmpty { notice(pending ? "nothing waits for review" : "no verdicts recorded") }
            }
        }
    }
}
