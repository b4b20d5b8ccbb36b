import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A problem with a safetensors file or index; the description names the file and what is wrong.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    public init(path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }
    public var description: String { "\(path): \(problem)" }
}

/// Element types a safetensors file may declare.
public enum SafetensorsDType: String, Sendable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case f64 = "F64", i64 = "I64", u64 = "U64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .f64, .i64, .u64: 8
        }
    }
}

/// One tensor's entry in a safetensors header.
public struct SafetensorsEntry: Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range within the data section (after the header).
    public let dataRange: Range<Int>
}

/// A read-only memory mapping of a whole file.
final class MappedFile: @unchecked Sendable {
    let pointer: UnsafeRawPointer
    let size: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw SafetensorsError(path: path, errno == ENOENT ? "file not found" : "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafetensorsError(path: path, "cannot stat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SafetensorsError(path: path, "not a regular file") }
        size = Int(info.st_size)
        if size == 0 {
            pointer = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 8))
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw SafetensorsError(path: path, "cannot map into memory (\(String(cString: strerror(errno))))")
        }
        pointer = UnsafeRawPointer(mapped)
    }

    deinit {
        if size == 0 {
            UnsafeMutableRawPointer(mutating: pointer).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: pointer), size)
        }
    }
}

/// A safetensors file, memory-mapped, with its header validated on open.
///
/// Validation follows the format's rules: an 8-byte little-endian header length, a JSON header of
/// at most 100 MB, known dtypes, byte sizes that match shapes, and tensors that tile the data
/// section exactly with no gaps, overlaps or trailing bytes.
public final class SafetensorsFile: Sendable {
    public let path: String
    public let entries: [String: SafetensorsEntry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    public static let maximumHeaderSize = 100_000_000

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        guard file.size >= 8 else {
            throw SafetensorsError(path: path, "truncated: \(file.size) bytes, too short to hold the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        withUnsafeMutableBytes(of: &headerLength) { $0.copyMemory(from: UnsafeRawBufferPointer(start: file.pointer, count: 8)) }
        headerLength = UInt64(littleEndian: headerLength)
        guard headerLength <= UInt64(Self.maximumHeaderSize) else {
            throw SafetensorsError(path: path, "header length \(headerLength) exceeds the 100 MB limit (not a safetensors file?)")
        }
        guard 8 + Int(headerLength) <= file.size else {
            throw SafetensorsError(path: path, "truncated: header needs \(headerLength) bytes but only \(file.size - 8) follow")
        }
        let headerBytes = Data(bytes: file.pointer + 8, count: Int(headerLength))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw SafetensorsError(path: path, "header is not valid JSON (not a safetensors file?)")
        }
        guard let header = json as? [String: Any] else {
            throw SafetensorsError(path: path, "header is not a JSON object")
        }
        dataStart = 8 + Int(headerLength)
        let dataSize = file.size - dataStart
        var entries: [String: SafetensorsEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw SafetensorsError(path: path, "__metadata__ is not an object")
                }
                for (key, v) in dict {
                    guard let s = v as? String else { throw SafetensorsError(path: path, "__metadata__[\(key)] is not a string") }
                    metadata[key] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else {
                throw SafetensorsError(path: path, "entry \(name) is not an object")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw SafetensorsError(path: path, "tensor \(name) has no dtype")
            }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw SafetensorsError(path: path, "tensor \(name) has unsupported dtype \(dtypeName)")
            }
            guard let shapeValues = info["shape"] as? [Any],
                  let shape = Optional(shapeValues.compactMap { ($0 as? NSNumber)?.intValue }), shape.count == shapeValues.count,
                  shape.allSatisfy({ $0 >= 0 })
            else {
                throw SafetensorsError(path: path, "tensor \(name) has a malformed shape")
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue,
                  begin >= 0, end >= begin
            else {
                throw SafetensorsError(path: path, "tensor \(name) has malformed data_offsets")
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, elements * dtype.byteSize == end - begin else {
                throw SafetensorsError(path: path, "tensor \(name) has shape \(shape) of \(dtypeName) but \(end - begin) bytes of data")
            }
            guard end <= dataSize else {
                throw SafetensorsError(path: path, "truncated: tensor \(name) ends at byte \(end) of the data section, which has only \(dataSize) bytes")
            }
            entries[name] = SafetensorsEntry(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
        }
        let sorted = entries.values.sorted { ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound) }
        var cursor = 0
        for entry in sorted {
            guard entry.dataRange.lowerBound == cursor else {
                throw SafetensorsError(path: path, "tensor \(entry.name) starts at byte \(entry.dataRange.lowerBound) but the previous tensor ends at \(cursor) (overlapping or gapped data)")
            }
            cursor = entry.dataRange.upperBound
        }
        guard cursor == dataSize else {
            throw SafetensorsError(path: path, "data section has \(dataSize) bytes but the tensors cover \(cursor) (corrupt or padded file)")
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// Tensor names in the file, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads a tensor, converting F32/F16/BF16 (and F64) to float32.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw SafetensorsError(path: path, "has no tensor named \(name)") }
        switch entry.dtype {
        case .f32, .bf16, .f16, .f64: break
        default: throw SafetensorsError(path: path, "tensor \(name) has dtype \(entry.dtype.rawValue), which is not a floating-point weight type")
        }
        let count = entry.shape.reduce(1, *)
        let base = file.pointer + dataStart + entry.dataRange.lowerBound
        var scalars = [Float](repeating: 0, count: count)
        scalars.withUnsafeMutableBufferPointer { dst in
            switch entry.dtype {
            case .f32:
                if count > 0 { UnsafeMutableRawPointer(dst.baseAddress!).copyMemory(from: base, byteCount: count * 4) }
            case .bf16:
                for i in 0..<count {
                    let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    dst[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            case .f16:
                for i in 0..<count {
                    dst[i] = halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .f64:
                for i in 0..<count {
                    dst[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            default:
                break
            }
        }
        return Tensor(shape: entry.shape, scalars: scalars)
    }
}

/// IEEE 754 half precision to single precision, including subnormals, infinities and NaN.
@inlinable
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int(h >> 10) & 0x1f
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        let value = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -value : value
    }
    if exponent == 31 {
        return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
}

/// Writes float32 tensors as a safetensors file (header padded to 8 bytes, tensors by name).
public enum SafetensorsWriter {
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        let names = tensors.keys.sorted()
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]] as [String: Any]
            offset += t.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        out.reserveCapacity(8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            tensors[name]!.scalars.withUnsafeBufferPointer { buffer in
                guard buffer.count > 0 else { return }
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self), count: buffer.count * 4))
            }
        }
        do {
            try out.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SafetensorsError(path: path, "cannot write (\(error.localizedDescription))")
        }
    }
}
