import Foundation

/// Moviola's invisible watermark: a 64-bit content ID (plus CRC-32) in luma, as a smooth pattern of
/// ±1 chips on a 16×16-cell tile that repeats over the whole frame and every frame.
///
/// Each cell carries one chip as a raised-cosine bump (zero at the cell's borders), added equally
/// to R, G and B so only luma changes. 48 of the 256 tile positions hold a fixed sync pattern, the
/// other 208 hold the 96 bits (ID and CRC-32) under a rate-1/2, constraint-length-7 convolutional
/// code (204 coded bits, decoded with soft-decision Viterbi). The tile's period follows the frame's short side, so a
/// rescaled copy keeps its geometry; detection averages the frames, folds the picture onto one
/// period (which makes any crop a cyclic shift), finds the shift and scale by the sync pattern,
/// and accepts only payloads whose CRC-32 checks: at most `maxCandidates` CRC checks per clip, so
/// a false detection on an unmarked clip has probability ≤ 8 × 2⁻³² ≈ 2·10⁻⁹.
public enum Watermark {
    public static let algorithmName = "org.moviola.watermark.tile16.v1"
    static let grid = 16                       // cells per tile side
    static let cellsPerShortSide = 20.0        // cell size = short side / this
    static let samplesPerCell = 4
    static let syncPositions = 48
    static let maxCandidates = 8
    static let syncThreshold: Float = 4.0      // z-score of the sync correlation needed to try a decode
    /// Default amplitude in 8-bit levels (peak of one chip); PSNR about 43 dB.
    public static let defaultStrength: Float = 5.0

    /// The permutation of tile positions and the key signs, fixed for the algorithm.
    static let layout: (order: [Int], signs: [Float]) = {
        var state: UInt64 = 0x4D6F_7669_6F6C_6157  // "MoviolaW"
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var order = Array(0..<(grid * grid))
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(next() % UInt64(i + 1))) }
        let signs = (0..<(grid * grid)).map { _ in next() & 1 == 0 ? Float(1) : -1 }
        return (order, signs)
    }()

    /// The 96 coded bits: the ID (big-endian) and its CRC-32.
    static func codedBits(_ id: UInt64) -> [Bool] {
        var bytes = [UInt8]()
        for k in 0..<8 { bytes.append(UInt8((id >> UInt64(56 - 8 * k)) & 0xff)) }
        let crc = crc32(bytes)
        var bits = (0..<64).map { (id >> UInt64(63 - $0)) & 1 == 1 }
        bits += (0..<32).map { (crc >> UInt32(31 - $0)) & 1 == 1 }
        return bits
    }

    /// Rate-1/2 convolutional code, generators 133 and 171 (octal), six zero tail bits.
    static func convolve(_ bits: [Bool]) -> [Bool] {
        var state = 0, out: [Bool] = []
        for bit in bits + [Bool](repeating: false, count: 6) {
            state = ((state << 1) | (bit ? 1 : 0)) & 0x7f
            out.append((state & 0o133).nonzeroBitCount & 1 == 1)
            out.append((state & 0o171).nonzeroBitCount & 1 == 1)
        }
        return out
    }

    /// Soft-decision Viterbi for `convolve`: `soft[i] > 0` favours coded bit i = 1.
    static func viterbi(_ soft: [Float], infoBits: Int) -> [Bool] {
        let states = 64, steps = infoBits + 6
        var metric = [Float](repeating: -.infinity, count: states)
        metric[0] = 0
        var history = [[UInt8]](repeating: [UInt8](repeating: 0, count: states), count: steps)
        for t in 0..<steps {
            var next = [Float](repeating: -.infinity, count: states)
            for s in 0..<states where metric[s] > -.infinity {
                for bit in 0...1 where !(t >= infoBits && bit == 1) {
                    let full = ((s << 1) | bit) & 0x7f
                    let a: Float = (full & 0o133).nonzeroBitCount & 1 == 1 ? 1 : -1
                    let b: Float = (full & 0o171).nonzeroBitCount & 1 == 1 ? 1 : -1
                    let m = metric[s] + a * soft[2 * t] + b * soft[2 * t + 1]
                    let ns = full & 0x3f
                    if m > next[ns] {
                        next[ns] = m
                        history[t][ns] = UInt8(s)
                    }
                }
            }
            metric = next
        }
        var s = 0, bits = [Bool](repeating: false, count: steps)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            bits[t] = s & 1 == 1
            s = Int(history[t][s])
        }
        return Array(bits.prefix(infoBits))
    }

    static let codedLength = 204

    /// Chip (±1) per tile position, row-major.
    static func chips(_ id: UInt64) -> [Float] {
        let bits = convolve(codedBits(id))
        var chips = [Float](repeating: 0, count: grid * grid)
        for (rank, position) in layout.order.enumerated() {
            let sign = layout.signs[position]
            if rank < syncPositions {
                chips[position] = sign
            } else {
                chips[position] = sign * (bits[(rank - syncPositions) % codedLength] ? 1 : -1)
            }
        }
        return chips
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func cellSize(width: Int, height: Int) -> Double { Double(min(width, height)) / cellsPerShortSide }

    /// Adds the watermark for one ID to frames of one size.
    public struct Embedder: Sendable {
        public let width: Int
        public let height: Int
        let pattern: [Int16]   // per pixel, in 1/64 levels

        public init(width: Int, height: Int, id: UInt64, strength: Float = Watermark.defaultStrength) {
            self.width = width
            self.height = height
            let chips = Watermark.chips(id)
            let c = Watermark.cellSize(width: width, height: height)
            let g = Watermark.grid
            // Separable: bump(x) per column and cell index per column, likewise for rows.
            func axis(_ n: Int) -> ([Int], [Float]) {
                var cell = [Int](repeating: 0, count: n), bump = [Float](repeating: 0, count: n)
                for i in 0..<n {
                    let u = (Double(i) + 0.5) / c
                    cell[i] = Int(u.rounded(.down)) % g
                    let s = sin(Double.pi * (u - u.rounded(.down)))
                    bump[i] = Float(s * s)
                }
                return (cell, bump)
            }
            let (cx, bx) = axis(width), (cy, by) = axis(height)
            var pattern = [Int16](repeating: 0, count: width * height)
            for y in 0..<height {
                let row = cy[y] * g
                for x in 0..<width {
                    pattern[y * width + x] = Int16((strength * 64 * chips[row + cx[x]] * bx[x] * by[y]).rounded())
                }
            }
            self.pattern = pattern
        }

        public func apply(_ image: RGBImage) -> RGBImage {
            precondition(image.width == width && image.height == height, "watermark made for \(width)x\(height), frame is \(image.width)x\(image.height)")
            var pixels = image.pixels
            pattern.withUnsafeBufferPointer { p in
                pixels.withUnsafeMutableBufferPointer { out in
                    for i in 0..<p.count {
                        let delta = Int(p[i])
                        if delta == 0 { continue }
                        for k in 0..<3 {
                            let v = Int(out[i * 3 + k]) * 64 + delta
                            out[i * 3 + k] = UInt8(clamping: (v + 32) >> 6)
                        }
                    }
                }
            }
            return RGBImage(width: width, height: height, pixels: pixels)
        }
    }

    /// What the detector found.
    public struct Detection: Sendable, Equatable {
        public let id: UInt64
        /// Normalised sync correlation in [0, 1]: 1 is a perfect copy, unmarked video stays near 0.
        public let confidence: Double
        /// Sync correlation as a z-score (≈ N(0, 1) on unmarked video).
        public let zScore: Double
        /// Period scale relative to the expected one (1 unless the picture was cropped or resized unevenly).
        public let scale: Double
    }

    /// Accumulates frames (luma averaged over time), then searches for the watermark.
    public struct Detector: Sendable {
        public private(set) var width = 0
        public private(set) var height = 0
        var sum: [Float] = []
        public private(set) var frames = 0

        public init() {}

        public mutating func add(_ image: RGBImage) {
            if frames == 0 {
                width = image.width
                height = image.height
                sum = [Float](repeating: 0, count: width * height)
            }
            guard image.width == width, image.height == height else { return }
            image.pixels.withUnsafeBufferPointer { p in
                sum.withUnsafeMutableBufferPointer { s in
                    for i in 0..<s.count {
                        s[i] += 0.2126 * Float(p[i * 3]) + 0.7152 * Float(p[i * 3 + 1]) + 0.0722 * Float(p[i * 3 + 2])
                    }
                }
            }
            frames += 1
        }

        /// The picture minus its local mean (a box of ±`radius`), clipped to ±`residualClip` levels, then
        /// divided by its local RMS (same box, floored at `whiteningFloor` levels): the watermark's few levels
        /// pass, edges and text (tens of levels) lose their leverage, and where the content is busy (the
        /// visible label, an object's outline) its positions count for less than those on flat areas, where
        /// the pattern is clean (Tests/Fixtures/watermark/README.md has the clip that needed it).
        static let residualClip: Float = 12
        static let whiteningFloor: Float = 1
        static func whitenedResidual(_ image: [Float], width: Int, height: Int, radius: Int) -> [Float] {
            // Separable box filter with running sums, edges clamped.
            func boxRows(_ src: [Float], _ w: Int, _ h: Int) -> [Float] {
                var out = [Float](repeating: 0, count: src.count)
                for y in 0..<h {
                    var acc: Float = 0
                    for x in -radius...radius { acc += src[y * w + min(max(x, 0), w - 1)] }
                    for x in 0..<w {
                        out[y * w + x] = acc / Float(2 * radius + 1)
                        acc += src[y * w + min(x + radius + 1, w - 1)] - src[y * w + max(x - radius, 0)]
                    }
                }
                return out
            }
            func transpose(_ src: [Float], _ w: Int, _ h: Int) -> [Float] {
                var out = [Float](repeating: 0, count: src.count)
                for y in 0..<h { for x in 0..<w { out[x * h + y] = src[y * w + x] } }
                return out
            }
            func box(_ src: [Float]) -> [Float] {
                transpose(boxRows(transpose(boxRows(src, width, height), width, height), height, width), height, width)
            }
            let residual = zip(image, box(image)).map { min(max($0 - $1, -residualClip), residualClip) }
            let energy = box(residual.map { $0 * $0 })
            let floor = whiteningFloor * whiteningFloor
            return zip(residual, energy).map { $0 / ($1 + floor).squareRoot() }
        }

        public static let scales: [Double] = [1.0, 0.975, 1.025, 0.95, 1.05, 1.075, 1.1, 1.111, 1.125, 1.15, 1.175, 1.2, 0.9]

        /// Soft values of the coded bits from the per-position correlations, scaled to unit noise.
        static func softBits(_ r: [Float]) -> [Float] {
            let order = Watermark.layout.order, signs = Watermark.layout.signs
            var soft = [Float](repeating: 0, count: Watermark.codedLength)
            for rank in Watermark.syncPositions..<order.count {
                let p = order[rank]
                soft[(rank - Watermark.syncPositions) % Watermark.codedLength] += signs[p] * r[p]
            }
            let scale = (soft.map { $0 * $0 }.reduce(0, +) / Float(soft.count)).squareRoot()
            return scale > 0 ? soft.map { $0 / scale } : soft
        }

        /// Searches the accumulated frames at the given period scales (all of `scales` for a copy that may have been
        /// cropped or resized; `[1]` for a file known to be at its rendered size).
        public func detect(scales: [Double] = Detector.scales, diagnosing expected: UInt64? = nil) -> Detection? {
            guard frames > 0, min(width, height) >= 32 else { return nil }
            let g = Watermark.grid, spc = Watermark.samplesPerCell, n = g * spc
            let q: [Float] = (0..<spc).map { a in
                let t = (Double(a) + 0.5) / Double(spc)
                return Float(sin(Double.pi * t) * sin(Double.pi * t) - 0.5)
            }
            let signs = Watermark.layout.signs, order = Watermark.layout.order
            var candidates: [(z: Float, scale: Double, r: [Float])] = []
            var bestBelowThreshold: (z: Float, scale: Double, r: [Float])?
            let residual = Self.whitenedResidual(sum.map { $0 / Float(frames) }, width: width, height: height,
                                                radius: max(1, Int(Watermark.cellSize(width: width, height: height).rounded())))
            for scale in scales {
                let period = Double(g) * Watermark.cellSize(width: width, height: height) * scale
                guard period <= Double(max(width, height)) else { continue }
                // Fold the mean frame onto one period, n×n samples.
                var folded = [Float](repeating: 0, count: n * n), count = [Float](repeating: 0, count: n * n)
                let binX = (0..<width).map { Int(((Double($0) + 0.5).truncatingRemainder(dividingBy: period)) / period * Double(n)) % n }
                let binY = (0..<height).map { Int(((Double($0) + 0.5).truncatingRemainder(dividingBy: period)) / period * Double(n)) % n }
                residual.withUnsafeBufferPointer { s in
                    for y in 0..<height {
                        let row = binY[y] * n
                        for x in 0..<width {
                            folded[row + binX[x]] += s[y * width + x]
                            count[row + binX[x]] += 1
                        }
                    }
                }
                var mean: Float = 0, filled: Float = 0
                for i in 0..<folded.count where count[i] > 0 {
                    folded[i] /= count[i]
                    mean += folded[i]
                    filled += 1
                }
                mean /= max(filled, 1)
                for i in 0..<folded.count { folded[i] = count[i] > 0 ? folded[i] - mean : 0 }
                // All 256 correlations at one cyclic shift (in quarter cells), or only those of the listed positions.
                func correlations(_ ox: Int, _ oy: Int, positions: ArraySlice<Int>) -> [Float] {
                    var r = [Float](repeating: 0, count: g * g)
                    for p in positions {
                        let (j, i) = (p / g, p % g)
                        var acc: Float = 0
                        for b in 0..<spc {
                            let row = ((oy + j * spc + b) % n) * n
                            var line: Float = 0
                            for a in 0..<spc { line += folded[row + (ox + i * spc + a) % n] * q[a] }
                            acc += line * q[b]
                        }
                        r[p] = acc
                    }
                    return r
                }
                let syncOrder = order.prefix(Watermark.syncPositions)
                for oy in 0..<n {
                    for ox in 0..<n {
                        // The sync pattern first; the data positions only where it matches.
                        let sync = correlations(ox, oy, positions: syncOrder)
                        var dot: Float = 0, energy: Float = 0
                        for p in syncOrder {
                            dot += signs[p] * sync[p]
                            energy += sync[p] * sync[p]
                        }
                        guard energy > 0 else { continue }
                        let z = dot / energy.squareRoot()
                        if z > Watermark.syncThreshold {
                            candidates.append((z, scale, correlations(ox, oy, positions: order[...])))
                        } else if expected != nil, z > (bestBelowThreshold?.z ?? -.infinity) {
                            bestBelowThreshold = (z, scale, correlations(ox, oy, positions: order[...]))
                        }
                    }
                }
            }
            candidates.sort { $0.z > $1.z }
            if let expected, let best = candidates.first ?? bestBelowThreshold {
                let soft = Self.softBits(best.r)
                let raw = zip(soft.map { $0 > 0 }, Watermark.convolve(Watermark.codedBits(expected))).filter { $0 != $1 }.count
                let decoded = Watermark.viterbi(soft, infoBits: 96)
                let errors = zip(decoded, Watermark.codedBits(expected)).filter { $0 != $1 }.count
                FileHandle.standardError.write(Data("watermark diagnose: best z \(best.z) scale \(best.scale), \(candidates.count) candidates, \(raw)/\(Watermark.codedLength) raw errors, \(errors)/96 after decoding\n".utf8))
            }
            for candidate in candidates.prefix(Watermark.maxCandidates) {
                let bits = Watermark.viterbi(Self.softBits(candidate.r), infoBits: 96)
                var id: UInt64 = 0
                for k in 0..<64 where bits[k] { id |= 1 << UInt64(63 - k) }
                if Watermark.codedBits(id) == bits {
                    return Detection(id: id, confidence: Double(candidate.z) / Double(Watermark.syncPositions).squareRoot(),
                                     zScore: Double(candidate.z), scale: candidate.scale)
                }
            }
            return nil
        }
    }
}
