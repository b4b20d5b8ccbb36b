import Crypto
import Foundation
import SwiftASN1
import X509

/// The credential that signs manifests and AIGC labels: a P-256 key and its certificate chain
/// (signer first, root excluded), plus the root the operator publishes for verifiers.
public struct SigningIdentity: Sendable {
    public let privateKey: P256.Signing.PrivateKey
    public let chain: [Certificate]
    public let root: Certificate?

    public var signer: Certificate { chain[0] }

    /// `c2pa-kp-claimSigning`, the C2PA extended key usage.
    public static let claimSigningEKU: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 62558, 2, 1]

    public init(privateKey: P256.Signing.PrivateKey, chain: [Certificate], root: Certificate?) throws {
        guard let first = chain.first else { throw ProvenanceError("the certificate chain is empty") }
        guard first.publicKey == Certificate.PublicKey(privateKey.publicKey) else {
            throw ProvenanceError("the private key does not belong to the signing certificate (\(first.subject))")
        }
        self.privateKey = privateKey
        self.chain = chain
        self.root = root
    }

    public func chainDER() throws -> [Data] {
        try chain.map { cert in
            var serializer = DER.Serializer()
            try serializer.serialize(cert)
            return Data(serializer.serializedBytes)
        }
    }

    /// ECDSA P-256 / SHA-256, raw r‖s (64 bytes), as COSE wants.
    public func sign(_ message: Data) throws -> Data {
        try privateKey.signature(for: message).rawRepresentation
    }
}

/// A private certificate authority on disk: `root.pem` + `root.key.pem` and a signing certificate
/// `signer.pem` (chain) + `signer.key.pem` carrying the C2PA claim-signing EKU.
public struct CertificateAuthority: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    var rootPath: String { (directory as NSString).appendingPathComponent("root.pem") }
    var rootKeyPath: String { (directory as NSString).appendingPathComponent("root.key.pem") }
    var signerPath: String { (directory as NSString).appendingPathComponent("signer.pem") }
    var signerKeyPath: String { (directory as NSString).appendingPathComponent("signer.key.pem") }

    public var exists: Bool { FileManager.default.fileExists(atPath: signerPath) && FileManager.default.fileExists(atPath: signerKeyPath) }

    /// Creates a root CA (10 years) and a signing certificate (2 years) for `organization`.
    /// Refuses to overwrite an existing one unless `force`.
    @discardableResult
    public func create(organization: String, now: Date = Date(), force: Bool = false) throws -> SigningIdentity {
        if exists && !force { throw ProvenanceError("\(directory) already holds a signing certificate; pass --force to replace it") }
        let org = organization.isEmpty ? "Moviola operator" : organization
        let rootKey = P256.Signing.PrivateKey()
        let rootPublic = Certificate.PublicKey(rootKey.publicKey)
        let rootName = try DistinguishedName {
            OrganizationName(org)
            CommonName("\(org) Content Credentials Root CA")
        }
        let rootSKI = SubjectKeyIdentifier(hash: rootPublic)
        let root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: rootPublic,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                rootSKI
            },
            issuerPrivateKey: Certificate.PrivateKey(rootKey))
        let signerKey = P256.Signing.PrivateKey()
        let signerPublic = Certificate.PublicKey(signerKey.publicKey)
        let signer = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signerPublic,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(2 * 365 * 86400),
            issuer: rootName,
            subject: try DistinguishedName {
                OrganizationName(org)
                CommonName("\(org) Moviola signer")
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.init(oid: SigningIdentity.claimSigningEKU), .emailProtection])
                SubjectKeyIdentifier(hash: signerPublic)
                AuthorityKeyIdentifier(keyIdentifier: rootSKI.keyIdentifier)
            },
            issuerPrivateKey: Certificate.PrivateKey(rootKey))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write(try root.serializeAsPEM().pemString + "\n", to: rootPath, secret: false)
        try write(rootKey.pemRepresentation + "\n", to: rootKeyPath, secret: true)
        try write(try signer.serializeAsPEM().pemString + "\n", to: signerPath, secret: false)
        try write(signerKey.pemRepresentation + "\n", to: signerKeyPath, secret: true)
        return try SigningIdentity(privateKey: signerKey, chain: [signer], root: root)
    }

    /// Installs the operator's own signing chain (PEM, signer first) and key; the root is optional.
    public func importIdentity(chainPEM: String, keyPEM: String, rootPEM: String?) throws -> SigningIdentity {
        let chain = try Self.certificates(fromPEM: chainPEM, what: "certificate chain")
        let key: P256.Signing.PrivateKey
        do { key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM) } catch {
            throw ProvenanceError("the private key is not a PEM P-256 (ECDSA) key: \(error)")
        }
        let root = try rootPEM.map { try Self.certificates(fromPEM: $0, what: "root certificate")[0] }
        let identity = try SigningIdentity(privateKey: key, chain: chain, root: root)
        try Self.checkSignerProfile(identity.signer)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write(chainPEM, to: signerPath, secret: false)
        try write(keyPEM, to: signerKeyPath, secret: true)
        if let rootPEM { try write(rootPEM, to: rootPath, secret: false) } else { try? FileManager.default.removeItem(atPath: rootPath) }
        return identity
    }

    public func load() throws -> SigningIdentity {
        guard exists else { throw ProvenanceError("no signing certificate in \(directory); run `moviola ca init`") }
        let chain = try Self.certificates(fromPEM: try read(signerPath), what: signerPath)
        let key: P256.Signing.PrivateKey
        do { key = try P256.Signing.PrivateKey(pemRepresentation: try read(signerKeyPath)) } catch let error as ProvenanceError { throw error } catch {
            throw ProvenanceError("\(signerKeyPath): not a PEM P-256 private key")
        }
        let root = FileManager.default.fileExists(atPath: rootPath) ? try Self.certificates(fromPEM: try read(rootPath), what: rootPath)[0] : nil
        return try SigningIdentity(privateKey: key, chain: chain, root: root)
    }

    /// Loads the identity, creating a fresh private CA first if there is none.
    public func loadOrCreate(organization: String) throws -> (SigningIdentity, created: Bool) {
        if exists { return (try load(), false) }
        return (try create(organization: organization), true)
    }

    public func rootPEM() throws -> String {
        guard FileManager.default.fileExists(atPath: rootPath) else {
            throw ProvenanceError("no root certificate in \(directory); run `moviola ca init` (or import one with --root)")
        }
        return try read(rootPath)
    }

    /// The certificates in a PEM text; `what` names it in errors.
    public static func certificates(fromPEM pem: String, what: String) throws -> [Certificate] {
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: pem) } catch {
            throw ProvenanceError("\(what): not PEM")
        }
        let certs = try documents.filter { $0.discriminator == "CERTIFICATE" }.map { doc in
            do { return try Certificate(pemDocument: doc) } catch { throw ProvenanceError("\(what): unreadable certificate: \(error)") }
        }
        guard !certs.isEmpty else { throw ProvenanceError("\(what): no CERTIFICATE block") }
        return certs
    }

    /// The C2PA signer profile (C2PA 2.2 §14.5.1) in the parts that commonly go wrong.
    static func checkSignerProfile(_ cert: Certificate) throws {
        guard let eku = try cert.extensions.extendedKeyUsage, !eku.isEmpty else {
            throw ProvenanceError("the signing certificate has no extended key usage; C2PA needs c2pa-kp-claimSigning (1.3.6.1.4.1.62558.2.1) or emailProtection/documentSigning")
        }
        guard !eku.contains(.any) else { throw ProvenanceError("the signing certificate must not carry anyExtendedKeyUsage") }
        if let basic = try cert.extensions.basicConstraints, case .isCertificateAuthority = basic {
            throw ProvenanceError("the signing certificate is a CA certificate; C2PA forbids CAs signing claims")
        }
        guard cert.issuer != cert.subject else { throw ProvenanceError("the signing certificate is self-signed; use a CA-issued certificate (`moviola ca init` makes one)") }
    }

    func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let s = String(data: data, encoding: .utf8) else {
            throw ProvenanceError("cannot read \(path)")
        }
        return s
    }

    func write(_ text: String, to path: String, secret: Bool) throws {
        let ok = FileManager.default.createFile(atPath: path, contents: Data(text.utf8),
                                                attributes: [.posixPermissions: secret ? 0o600 : 0o644])
        guard ok else { throw ProvenanceError("cannot write \(path)") }
    }
}
