import Foundation

/// An 8-bit grayscale image.
public struct GrayImage: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// From interleaved RGB (BT.601 luma, as OpenCV's cascades were trained on).
    public init(width: Int, height: Int, rgb: [UInt8]) {
        var gray = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let (r, g, b) = (Int(rgb[i * 3]), Int(rgb[i * 3 + 1]), Int(rgb[i * 3 + 2]))
            gray[i] = UInt8((r * 4899 + g * 9617 + b * 1868 + 8192) >> 14)
        }
        self.init(width: width, height: height, pixels: gray)
    }

    /// Bilinear resize.
    func resized(width w: Int, height h: Int) -> GrayImage {
        var out = [UInt8](repeating: 0, count: w * h)
        let sx = Double(width) / Double(w), sy = Double(height) / Double(h)
        for y in 0..<h {
            let fy = max(0, (Double(y) + 0.5) * sy - 0.5)
            let y0 = min(height - 1, Int(fy)), y1 = min(height - 1, y0 + 1), ty = fy - Double(y0)
            for x in 0..<w {
                let fx = max(0, (Double(x) + 0.5) * sx - 0.5)
                let x0 = min(width - 1, Int(fx)), x1 = min(width - 1, x0 + 1), tx = fx - Double(x0)
                let top = Double(pixels[y0 * width + x0]) * (1 - tx) + Double(pixels[y0 * width + x1]) * tx
                let bottom = Double(pixels[y1 * width + x0]) * (1 - tx) + Double(pixels[y1 * width + x1]) * tx
                out[y * w + x] = UInt8(max(0, min(255, (top * (1 - ty) + bottom * ty).rounded())))
            }
        }
        return GrayImage(width: w, height: h, pixels: out)
    }
}

/// A face found in an image, in the image's pixels.
public struct FaceBox: Sendable, Equatable {
    public var x: Int, y: Int, width: Int, height: Int
    /// How many overlapping detections support it.
    public var neighbours: Int
}

/// A Viola–Jones detector reading OpenCV's published Haar cascade files (Debian's opencv-data):
/// boosted stages of Haar-feature trees evaluated on integral images over an image pyramid.
public struct HaarCascade: Sendable {
    struct Rect { var x: Int, y: Int, w: Int, h: Int, weight: Double }
    struct Node { var left: Int, right: Int, feature: Int, threshold: Double }
    struct Weak { var nodes: [Node]; var leaves: [Double] }
    struct Stage { var threshold: Double; var weaks: [Weak] }

    let windowWidth: Int
    let windowHeight: Int
    let stages: [Stage]
    let features: [[Rect]]

    /// Where Debian's opencv-data puts the cascades.
    public static let defaultPath = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"

    /// Loads a cascade in OpenCV's current XML format (`opencv-cascade-classifier`, HAAR, BOOST).
    public init(path: String = HaarCascade.defaultPath) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError("face detection needs OpenCV's cascade file \(path) (Debian: apt-get install opencv-data)")
        }
        let xml = String(decoding: data, as: UTF8.self)
        guard xml.contains("opencv-cascade-classifier"), xml.contains("<featureType>HAAR</featureType>") else {
            throw PolicyError("\(path) is not an OpenCV Haar cascade in the current XML format")
        }
        func first(_ tag: String) -> String? {
            var scanner = TagScanner(xml)
            return scanner.section(tag)
        }
        guard let w = first("width").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
              let h = first("height").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw PolicyError("\(path): the cascade has no window size")
        }
        windowWidth = w
        windowHeight = h
        // Stages: each has a threshold and weak classifiers (internal nodes + leaf values).
        guard let stagesText = first("stages"), let featuresText = first("features") else {
            throw PolicyError("\(path): the cascade has no stages or features")
        }
        var stages: [Stage] = []
        var stageScanner = TagScanner(stagesText)
        while let threshold = stageScanner.value(of: "stageThreshold").flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            guard let weakText = stageScanner.section("weakClassifiers") else { break }
            var weakScanner = TagScanner(weakText)
            var weaks: [Weak] = []
            while let nodesText = weakScanner.value(of: "internalNodes"), let leavesText = weakScanner.value(of: "leafValues") {
                let numbers = nodesText.split(whereSeparator: \.isWhitespace).map(String.init)
                var nodes: [Node] = []
                var i = 0
                while i + 3 < numbers.count {
                    guard let left = Int(numbers[i]), let right = Int(numbers[i + 1]), let feature = Int(numbers[i + 2]),
                          let t = Double(numbers[i + 3]) else { throw PolicyError("\(path): malformed internal nodes") }
                    nodes.append(Node(left: left, right: right, feature: feature, threshold: t))
                    i += 4
                }
                let leaves = leavesText.split(whereSeparator: \.isWhitespace).compactMap { Double(String($0)) }
                guard !nodes.isEmpty, leaves.count == nodes.count + 1 else { throw PolicyError("\(path): malformed weak classifier") }
                weaks.append(Weak(nodes: nodes, leaves: leaves))
            }
            stages.append(Stage(threshold: threshold, weaks: weaks))
        }
        var features: [[Rect]] = []
        var featureScanner = TagScanner(featuresText)
        while let rectsText = featureScanner.section("rects") {
            var rects: [Rect] = []
            var rectScanner = TagScanner(rectsText)
            while let r = rectScanner.value(of: "_") {
                let v = r.split(whereSeparator: \.isWhitespace).compactMap { Double(String($0)) }
                guard v.count == 5 else { throw PolicyError("\(path): malformed feature rectangle") }
                rects.append(Rect(x: Int(v[0]), y: Int(v[1]), w: Int(v[2]), h: Int(v[3]), weight: v[4]))
            }
            features.append(rects)
        }
        guard !stages.isEmpty, !features.isEmpty else { throw PolicyError("\(path): the cascade is empty") }
        for stage in stages { for weak in stage.weaks { for node in weak.nodes where node.feature >= features.count {
            throw PolicyError("\(path): a classifier uses feature \(node.feature) of \(features.count)")
        } } }
        self.stages = stages
        self.features = features
    }

    /// Faces in `image` at least `minimumSize` pixels tall; the image is first scaled so its long side is
    /// at most `maxSide` (faces smaller than the window at that scale are not found).
    public func detect(_ image: GrayImage, minimumNeighbours: Int = 3, maxSide: Int = 320, scaleStep: Double = 1.1) -> [FaceBox] {
        guard image.width >= windowWidth, image.height >= windowHeight else { return [] }
        let shrink = min(1, Double(maxSide) / Double(max(image.width, image.height)))
        let base = shrink < 1 ? image.resized(width: max(windowWidth, Int(Double(image.width) * shrink)),
                                              height: max(windowHeight, Int(Double(image.height) * shrink))) : image
        let toOriginal = Double(image.width) / Double(base.width)
        var candidates: [FaceBox] = []
        var factor = 1.0
        while Int(Double(base.width) / factor) >= windowWidth && Int(Double(base.height) / factor) >= windowHeight {
            let level = factor == 1 ? base : base.resized(width: Int(Double(base.width) / factor), height: Int(Double(base.height) / factor))
            let integral = Integral(level)
            let step = factor > 2 ? 1 : 2
            var y = 0
            while y + windowHeight <= level.height {
                var x = 0
                while x + windowWidth <= level.width {
                    if passes(integral, x: x, y: y) {
                        let scale = factor * toOriginal
                        candidates.append(FaceBox(x: Int(Double(x) * scale), y: Int(Double(y) * scale),
                                                  width: Int(Double(windowWidth) * scale), height: Int(Double(windowHeight) * scale), neighbours: 1))
                    }
                    x += step
                }
                y += step
            }
            factor *= scaleStep
        }
        return Self.group(candidates, minimumNeighbours: minimumNeighbours)
    }

    struct Integral {
        let width: Int
        var sum: [Double]
        var squares: [Double]

        init(_ image: GrayImage) {
            width = image.width + 1
            sum = [Double](repeating: 0, count: (image.width + 1) * (image.height + 1))
            squares = sum
            for y in 0..<image.height {
                var rowSum = 0.0, rowSquares = 0.0
                for x in 0..<image.width {
                    let v = Double(image.pixels[y * image.width + x])
                    rowSum += v
                    rowSquares += v * v
                    sum[(y + 1) * width + x + 1] = sum[y * width + x + 1] + rowSum
                    squares[(y + 1) * width + x + 1] = squares[y * width + x + 1] + rowSquares
                }
            }
        }

        @inline(__always) func box(_ t: [Double], _ x: Int, _ y: Int, _ w: Int, _ h: Int) -> Double {
            t[(y + h) * width + x + w] - t[y * width + x + w] - t[(y + h) * width + x] + t[y * width + x]
        }
    }

    /// OpenCV's evaluation: features are normalised by the window's standard deviation over its inner
    /// area (one pixel in from each edge); a window passes when every stage's sum reaches its threshold.
    func passes(_ integral: Integral, x: Int, y: Int) -> Bool {
        let area = Double((windowWidth - 2) * (windowHeight - 2))
        let s = integral.box(integral.sum, x + 1, y + 1, windowWidth - 2, windowHeight - 2)
        let sq = integral.box(integral.squares, x + 1, y + 1, windowWidth - 2, windowHeight - 2)
        let variance = area * sq - s * s
        let norm = variance > 0 ? variance.squareRoot() : 1
        for stage in stages {
            var total = 0.0
            for weak in stage.weaks {
                var index = 0
                while true {
                    let node = weak.nodes[index]
                    var value = 0.0
                    for r in features[node.feature] {
                        value += r.weight * integral.box(integral.sum, x + r.x, y + r.y, r.w, r.h)
                    }
                    let next = value < node.threshold * norm ? node.left : node.right
                    if next <= 0 {
                        total += weak.leaves[-next]
                        break
                    }
                    index = next
                }
            }
            if total < stage.threshold { return false }
        }
        return true
    }

    /// Clusters overlapping detections (like OpenCV's groupRectangles) and keeps clusters with enough support.
    static func group(_ boxes: [FaceBox], minimumNeighbours: Int) -> [FaceBox] {
        var labels = Array(0..<boxes.count)
        func root(_ i: Int) -> Int { var i = i; while labels[i] != i { i = labels[i] }; return i }
        func similar(_ a: FaceBox, _ b: FaceBox) -> Bool {
            let delta = 0.2 * Double(min(a.width, b.width) + min(a.height, b.height)) * 0.5
            return abs(Double(a.x - b.x)) <= delta && abs(Double(a.y - b.y)) <= delta
                && abs(Double(a.x + a.width - b.x - b.width)) <= delta && abs(Double(a.y + a.height - b.y - b.height)) <= delta
        }
        for i in 0..<boxes.count {
            for j in (i + 1)..<max(i + 1, boxes.count) where similar(boxes[i], boxes[j]) {
                labels[root(j)] = root(i)
            }
        }
        var clusters: [Int: [FaceBox]] = [:]
        for i in 0..<boxes.count { clusters[root(i), default: []].append(boxes[i]) }
        return clusters.values.filter { $0.count > minimumNeighbours }.map { members in
            let n = members.count
            return FaceBox(x: members.map(\.x).reduce(0, +) / n, y: members.map(\.y).reduce(0, +) / n,
                           width: members.map(\.width).reduce(0, +) / n, height: members.map(\.height).reduce(0, +) / n, neighbours: n)
        }.sorted { $0.neighbours > $1.neighbours }
    }
}

/// Walks an XML text tag by tag (enough for OpenCV's regular cascade files).
struct TagScanner {
    let text: String
    var position: String.Index

    init(_ text: String) {
        self.text = text
        position = text.startIndex
    }

    /// The text between the next `<tag>` (or `<tag …>`) and its `</tag>`, moving past it.
    mutating func value(of tag: String) -> String? { section(tag) }

    mutating func section(_ tag: String) -> String? {
        var search = position
        while let open = text.range(of: "<\(tag)", range: search..<text.endIndex) {
            let after = open.upperBound
            guard after < text.endIndex else { return nil }
            let next = text[after]
            if next == ">" || next == " " {
                guard let close = text.range(of: ">", range: after..<text.endIndex) else { return nil }
                // Nested tags of the same name (`<_>` inside `<_>`) are matched by depth.
                var depth = 1
                var cursor = close.upperBound
                while depth > 0 {
                    guard let lt = text.range(of: "<", range: cursor..<text.endIndex) else { return nil }
                    if text[lt.upperBound...].hasPrefix("/\(tag)>") {
                        depth -= 1
                        if depth == 0 {
                            position = text.index(lt.upperBound, offsetBy: tag.count + 2)
                            return String(text[close.upperBound..<lt.lowerBound])
                        }
                        cursor = lt.upperBound
                    } else if text[lt.upperBound...].hasPrefix("\(tag)>") || text[lt.upperBound...].hasPrefix("\(tag) ") {
                        depth += 1
                        cursor = lt.upperBound
                    } else {
                        cursor = lt.upperBound
                    }
                }
            }
            search = after
        }
        return nil
    }
}
