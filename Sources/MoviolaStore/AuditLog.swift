import Crypto
import Foundation
import SQLKit

/// One entry of the audit log as stored: the leaf (canonical JSON, nil once pruned by retention) and
/// its RFC 6962 leaf hash.
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int
    public var leaf: String?
    public var leafHash: String
    public var createdAt: Double
}

/// A signed tree head: the Merkle root over the first `treeSize` entries.
public struct AuditCheckpoint: Sendable, Equatable {
    public var treeSize: Int
    public var rootHash: String
    public var signedAt: Double
    /// Base64 DER ECDSA signature over `AuditLog.checkpointMessage`.
    public var signature: String
    /// Who signed: the signer certificate's SHA-256.
    public var signer: String
}

/// RFC 6962 hashing and the canonical form of checkpoints.
public enum AuditLog {
    public static func leafHash(_ leaf: Data) -> Data {
        Data(SHA256.hash(data: Data([0]) + leaf))
    }

    static func nodeHash(_ left: Data, _ right: Data) -> Data {
        Data(SHA256.hash(data: Data([1]) + left + right))
    }

    /// The Merkle tree hash of leaf hashes (RFC 6962 §2.1): the split is at the largest power of two below n.
    public static func merkleRoot(_ leaves: ArraySlice<Data>) -> Data {
        switch leaves.count {
        case 0: return Data(SHA256.hash(data: Data()))
        case 1: return leaves.first!
        default:
            var k = 1
            while k << 1 < leaves.count { k <<= 1 }
            let start = leaves.startIndex
            return nodeHash(merkleRoot(leaves[start..<(start + k)]), merkleRoot(leaves[(start + k)...]))
        }
    }

    /// The bytes a checkpoint signature covers.
    public static func checkpointMessage(treeSize: Int, rootHash: String, signedAt: Double) -> Data {
        Data("moviola-audit-checkpoint/v1\n\(treeSize)\n\(rootHash)\n\(Int(signedAt))\n".utf8)
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    static func canonicalJSON(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}

/// What `moviola audit verify` found.
public struct AuditReport: Sendable {
    public var entries = 0
    public var pruned = 0
    public var checkpoints = 0
    public var verifiedCheckpoints = 0
    public var problems: [String] = []
    public var intact: Bool { problems.isEmpty }
}

extension Store {
    /// Appends an entry. `data` goes into the leaf and must hold no personal data (use account IDs);
    /// `personal` (e-mail addresses, IP addresses, names) is stored beside it under a salted commitment,
    /// so it can be erased without breaking the log.
    @discardableResult
    public func audit(_ kind: String, actor: String, subject: String? = nil, data: [String: any Sendable] = [:],
                      personal: [String: String]? = nil) async throws -> Int {
        let now = clock()
        return try await database.transaction { db -> Int in
            if database.kind == .postgres { try await db.raw("SELECT pg_advisory_xact_lock(7220)").run() }
            let last = try await db.raw("SELECT seq, leaf_hash FROM audit_entries ORDER BY seq DESC LIMIT 1").first()
            let seq = (try last?.decode(column: "seq", as: Int.self) ?? 0) + 1
            let previous = try last?.decode(column: "leaf_hash", as: String.self) ?? String(repeating: "0", count: 64)
            var leaf: [String: Any] = ["v": 1, "seq": seq, "time": (now * 1000).rounded() / 1000, "kind": kind, "actor": actor,
                                       "data": data, "prev": previous]
            if let subject { leaf["subject"] = subject }
            if let personal {
                let salt = Self.randomToken(24)
                let json = try AuditLog.canonicalJSON(personal)
                leaf["personal_sha256"] = AuditLog.hex(Data(SHA256.hash(data: Data((salt + json).utf8))))
                try await db.raw("""
                    INSERT INTO audit_personal (seq, subject, salt, data) VALUES (\(bind: seq), \(bind: subject ?? actor), \(bind: salt), \(bind: json))
                    """).run()
            }
            let text = try AuditLog.canonicalJSON(leaf)
            let hash = AuditLog.hex(AuditLog.leafHash(Data(text.utf8)))
            try await db.raw("""
                INSERT INTO audit_entries (seq, leaf, leaf_hash, created_at) VALUES (\(bind: seq), \(bind: text), \(bind: hash), \(bind: now))
                """).run()
            return seq
        }
    }

    public func auditEntries(after seq: Int = 0, limit: Int = 1000) async throws -> [AuditEntry] {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT seq, leaf, leaf_hash, created_at FROM audit_entries WHERE seq > \(bind: seq) ORDER BY seq LIMIT \(literal: max(1, limit))
                """).all().map {
                    AuditEntry(seq: try $0.decode(column: "seq", as: Int.self), leaf: try $0.decode(column: "leaf", as: String?.self),
                               leafHash: try $0.decode(column: "leaf_hash", as: String.self),
                               createdAt: try $0.decode(column: "created_at", as: Double.self))
                }
        }
    }

    /// The personal fields stored beside an entry: (salt, JSON).
    public func auditPersonal(seq: Int) async throws -> (salt: String, data: String)? {
        try await database.withConnection { db in
            guard let row = try await db.raw("SELECT salt, data FROM audit_personal WHERE seq = \(bind: seq)").first() else { return nil }
            return (try row.decode(column: "salt", as: String.self), try row.decode(column: "data", as: String.self))
        }
    }

    public func auditCheckpoints() async throws -> [AuditCheckpoint] {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM audit_checkpoints ORDER BY tree_size").all().map {
                AuditCheckpoint(treeSize: try $0.decode(column: "tree_size", as: Int.self), rootHash: try $0.decode(column: "root_hash", as: String.self),
                                signedAt: try $0.decode(column: "signed_at", as: Double.self), signature: try $0.decode(column: "signature", as: String.self),
                                signer: try $0.decode(column: "signer", as: String.self))
            }
        }
    }

    /// Signs a checkpoint over every entry so far, if there are entries the last one does not cover.
    @discardableResult
    public func signAuditCheckpoint(signer: String, sign: @Sendable (Data) throws -> Data) async throws -> AuditCheckpoint? {
        let entries = try await allAuditEntries()
        guard let last = entries.last else { return nil }
        if let newest = try await auditCheckpoints().last, newest.treeSize >= last.seq { return nil }
        let hashes = entries.map { Data(hexString: $0.leafHash) ?? Data() }
        let root = AuditLog.hex(AuditLog.merkleRoot(hashes[...]))
        let now = clock()
        let signature = try sign(AuditLog.checkpointMessage(treeSize: entries.count, rootHash: root, signedAt: now)).base64EncodedString()
        let checkpoint = AuditCheckpoint(treeSize: entries.count, rootHash: root, signedAt: now, signature: signature, signer: signer)
        try await database.withConnection { db in
            try await db.raw("""
                INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, signature, signer)
                VALUES (\(bind: checkpoint.treeSize), \(bind: root), \(bind: now), \(bind: signature), \(bind: signer))
                """).run()
        }
        return checkpoint
    }

    func allAuditEntries() async throws -> [AuditEntry] {
        var all: [AuditEntry] = []
        while true {
            let page = try await auditEntries(after: all.last?.seq ?? 0, limit: 5000)
            all += page
            if page.count < 5000 { return all }
        }
    }

    /// Drops the bodies (and personal fields) of entries older than `cutoff`; their hashes stay, so the
    /// tree and its signed checkpoints still verify.
    public func pruneAudit(before cutoff: Double) async throws -> Int {
        try await database.transaction { db -> Int in
            let rows = try await db.raw("SELECT seq FROM audit_entries WHERE created_at < \(bind: cutoff) AND leaf IS NOT NULL").all()
            try await db.raw("""
                DELETE FROM audit_personal WHERE seq IN (SELECT seq FROM audit_entries WHERE created_at < \(bind: cutoff) AND leaf IS NOT NULL)
                """).run()
            try await db.raw("UPDATE audit_entries SET leaf = NULL WHERE created_at < \(bind: cutoff) AND leaf IS NOT NULL").run()
            return rows.count
        }
    }

    /// Checks the whole log: every leaf against its hash, the chain of `prev` hashes, gaps in the
    /// sequence, personal fields against their commitments, and every checkpoint's root and signature.
    public func verifyAudit(verifySignature: (AuditCheckpoint, Data) -> Bool) async throws -> AuditReport {
        var report = AuditReport()
        let entries = try await allAuditEntries()
        report.entries = entries.count
        var expected = 1
        var previousHash = String(repeating: "0", count: 64)
        var hashes: [Data] = []
        for entry in entries {
            if entry.seq != expected {
                report.problems.append(entry.seq > expected
                    ? "entries \(expected)…\(entry.seq - 1) are missing (the sequence jumps from \(expected - 1) to \(entry.seq))"
                    : "entry \(entry.seq) is out of order")
                expected = entry.seq
            }
            expected += 1
            if let leaf = entry.leaf {
                let computed = AuditLog.hex(AuditLog.leafHash(Data(leaf.utf8)))
                if computed != entry.leafHash {
                    report.problems.append("entry \(entry.seq) was altered: its content does not match its hash")
                }
                let object = (try? JSONSerialization.jsonObject(with: Data(leaf.utf8))) as? [String: Any]
                if let object {
                    if object["seq"] as? Int != entry.seq {
                        report.problems.append("entry \(entry.seq) claims to be entry \(object["seq"] ?? "?")")
                    }
                    if let prev = object["prev"] as? String, prev != previousHash {
                        report.problems.append("entry \(entry.seq) does not follow entry \(entry.seq - 1): the hash chain is broken (an entry before it was altered, removed or inserted)")
                    }
                    if let commitment = object["personal_sha256"] as? String, let personal = try await auditPersonal(seq: entry.seq) {
                        let computed = AuditLog.hex(Data(SHA256.hash(data: Data((personal.salt + personal.data).utf8))))
                        if computed != commitment { report.problems.append("the personal fields of entry \(entry.seq) were altered") }
                    }
                } else {
                    report.problems.append("entry \(entry.seq) is not valid JSON")
                }
            } else {
                report.pruned += 1
            }
            previousHash = entry.leafHash
            hashes.append(Data(hexString: entry.leafHash) ?? Data())
        }
        let checkpoints = try await auditCheckpoints()
        report.checkpoints = checkpoints.count
        for checkpoint in checkpoints {
            let message = AuditLog.checkpointMessage(treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, signedAt: checkpoint.signedAt)
            guard verifySignature(checkpoint, message) else {
                report.problems.append("checkpoint at size \(checkpoint.treeSize) has a signature that does not verify")
                continue
            }
            guard checkpoint.treeSize <= hashes.count else {
                report.problems.append("checkpoint at size \(checkpoint.treeSize) covers entries that are gone (the log has \(hashes.count)): entries were deleted from the end")
                continue
            }
            let root = AuditLog.hex(AuditLog.merkleRoot(hashes[0..<checkpoint.treeSize]))
            if root != checkpoint.rootHash {
                report.problems.append("the first \(checkpoint.treeSize) entries no longer hash to the root signed at \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: checkpoint.signedAt))): entries were altered, removed or inserted")
            } else {
                report.verifiedCheckpoints += 1
            }
        }
        return report
    }
}

extension Data {
    init?(hexString: String) {
        guard hexString.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hexString.count / 2)
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
