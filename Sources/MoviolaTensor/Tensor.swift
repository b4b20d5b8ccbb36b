/// A dense, contiguous, row-major float32 tensor.
///
/// Storage is a Swift array, so copies are copy-on-write and a `Tensor` is a value that can cross
/// concurrency domains freely.
public struct Tensor: Sendable, Equatable {
    /// The extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(
            scalars.count == shape.reduce(1, *),
            "tensor of shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Number of elements.
    public var count: Int { scalars.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Row-major strides, in elements.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// The tensor at `index` along the first dimension (e.g. one sample of a batch).
    public func slice(_ index: Int) -> Tensor {
        precondition(rank >= 1 && index >= 0 && index < shape[0], "slice \(index) out of range for shape \(shape)")
        let inner = Array(shape.dropFirst())
        let size = inner.reduce(1, *)
        return Tensor(shape: inner, scalars: Array(scalars[(index * size)..<((index + 1) * size)]))
    }

    /// Stacks equally shaped tensors along a new first dimension.
    public static func stack(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "cannot stack zero tensors")
        let inner = parts[0].shape
        var scalars: [Float] = []
        scalars.reserveCapacity(parts.count * parts[0].count)
        for part in parts {
            precondition(part.shape == inner, "cannot stack shapes \(inner) and \(part.shape)")
            scalars.append(contentsOf: part.scalars)
        }
        return Tensor(shape: [parts.count] + inner, scalars: scalars)
    }
}

extension Tensor {
    /// Largest absolute element-wise difference.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shape mismatch \(shape) vs \(other.shape)")
        var worst: Float = 0
        for i in 0..<count { worst = max(worst, abs(scalars[i] - other.scalars[i])) }
        return worst
    }

    /// ‖self − reference‖₂ / ‖reference‖₂, the relative error used by the parity tests.
    public func relativeError(to reference: Tensor) -> Double {
        precondition(shape == reference.shape, "shape mismatch \(shape) vs \(reference.shape)")
        var diff = 0.0
        var norm = 0.0
        for i in 0..<count {
            let d = Double(scalars[i]) - Double(reference.scalars[i])
            diff += d * d
            norm += Double(reference.scalars[i]) * Double(reference.scalars[i])
        }
        if norm == 0 { return diff == 0 ? 0 : .infinity }
        return (diff / norm).squareRoot()
    }
}
