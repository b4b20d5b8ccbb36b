import COpenBLAS
import Dispatch
import CMoviolaKernels
import Foundation

/// How many threads the CPU kernels use. Results are bit-identical for a given thread count.
///
/// OpenBLAS itself always runs single-threaded: Moviola splits every GEMM across its own workers
/// (by rows, see `BLAS.parallelGemm`), so no BLAS thread pool spins while Moviola's own kernels
/// run, and concurrent callers never fight over a process-wide BLAS setting.
public struct ComputeContext: Sendable {
    /// Worker threads for Moviola's own kernels and for OpenBLAS GEMM.
    public let threads: Int

    /// - Parameter threads: explicit count; otherwise `MOVIOLA_THREADS`, otherwise all cores.
    public init(threads: Int? = nil) {
        let fromEnvironment = ProcessInfo.processInfo.environment["MOVIOLA_THREADS"].flatMap(Int.init)
        let chosen = threads ?? fromEnvironment ?? ProcessInfo.processInfo.activeProcessorCount
        self.threads = max(1, chosen)
        openblas_set_num_threads(1)
    }

    /// Runs `body(worker)` for `worker` in `0..<threads`, in parallel. Work must be split by a
    /// rule that depends only on the worker index and the problem size, never on timing, so that
    /// results do not depend on scheduling.
    public func forEachWorker(_ body: @Sendable (Int) -> Void) {
        if threads == 1 {
            body(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: threads, execute: body)
        }
    }

    /// Splits `0..<count` into one contiguous range per worker and runs them in parallel.
    public func parallelFor(_ count: Int, minimumPerWorker: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = max(1, min(threads, count / max(1, minimumPerWorker)))
        if workers == 1 {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let start = count * worker / workers
            let end = count * (worker + 1) / workers
            if start < end { body(start..<end) }
        }
    }
}

/// OpenBLAS kernel selection. OpenBLAS 0.3.21 (Debian 12) does not recognise recent CPUs (for
/// example AVX-512 Xeons of 2023 and later) and falls back to its generic "Prescott" SSE3 kernels,
/// about a quarter of the speed of the SkylakeX kernels on the same machine (measured 60 vs 250
/// GFLOP/s SGEMM on 2 cores). The core type can only be chosen before the library initialises,
/// through `OPENBLAS_CORETYPE`, so the executable re-launches itself with it set when the
/// detected core is a fallback and the CPU's flags support a better one, unless the operator
/// has chosen a core type.
public enum BLASCore {
    /// The kernel family OpenBLAS selected.
    public static var name: String { String(cString: openblas_get_corename()) }

    static let fallbackCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine", "northwood", "banias", "unknown"]

    /// The best core type the CPU's instruction-set flags allow, from /proc/cpuinfo.
    static var bestSupportedCore: String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The core to use instead of the detected one, or nil when the detected one is fine.
    public static var preferredOverride: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              fallbackCores.contains(name.lowercased())
        else { return nil }
        return bestSupportedCore
    }

    /// Keeps large freed buffers in the heap instead of returning them to the kernel: kernels
    /// allocate tens of megabytes per call, and mapping them afresh each time cost about 5 % of
    /// decode time in page faults.
    public static func configureAllocator() {
        moviola_configure_allocator()
    }

    /// Re-executes the current process with a better `OPENBLAS_CORETYPE` when needed. Returns only
    /// when no re-launch is needed or it failed (then the detected core is kept).
    public static func relaunchWithPreferredCoreIfNeeded() {
        guard let core = preferredOverride else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
    }
}

/// A raw pointer that may be captured by the parallel kernels. Each worker writes a disjoint part.
@usableFromInline
struct SharedPointer<T>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<T>
    @usableFromInline init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

/// A read-only raw pointer that may be captured by the parallel kernels.
@usableFromInline
struct SharedConstPointer<T>: @unchecked Sendable {
    @usableFromInline let base: UnsafePointer<T>
    @usableFromInline init(_ base: UnsafePointer<T>) { self.base = base }
}
