import Crypto
import Foundation
import MoviolaProvenance
import MoviolaStore
import SwiftASN1

/// Signs the audit log's checkpoints with the server's signing key and checks them again.
public struct AuditSigner: Sendable {
    public let identity: SigningIdentity

    public init(identity: SigningIdentity) { self.identity = identity }

    /// SHA-256 of the signer certificate, recorded with each checkpoint.
    public var signerID: String {
        let der = (try? identity.chainDER().first) ?? Data()
        return SHA256.hash(data: der ?? Data()).map { String(format: "%02x", $0) }.joined()
    }

    /// Signs a checkpoint when entries were added since the last one.
    @discardableResult
    public func checkpoint(_ store: Store) async throws -> AuditCheckpoint? {
        let identity = self.identity
        return try await store.signAuditCheckpoint(signer: signerID) { message in try identity.sign(message) }
    }

    public func verify(_ store: Store) async throws -> AuditReport {
        let publicKey = identity.privateKey.publicKey
        let signer = signerID
        return try await store.verifyAudit { checkpoint, message in
            guard checkpoint.signer == signer, let raw = Data(base64Encoded: checkpoint.signature),
                  let signature = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return publicKey.isValidSignature(signature, for: message)
        }
    }
}
