/// Multi-pattern search over Unicode scalar sequences in time linear in the text (plus matches).
struct AhoCorasick: Sendable {
    private var next: [[UInt32: Int32]] = [[:]]
    private var fail: [Int32] = [0]
    /// Pattern indices ending at each node (its own and those reached by failure links).
    private var outputs: [[Int32]] = [[]]
    private(set) var lengths: [Int] = []

    init(patterns: [[UInt32]]) {
        for (index, pattern) in patterns.enumerated() {
            lengths.append(pattern.count)
            guard !pattern.isEmpty else { continue }
            var node = 0
            for symbol in pattern {
                if let child = next[node][symbol] {
                    node = Int(child)
                } else {
                    next.append([:])
                    fail.append(0)
                    outputs.append([])
                    next[node][symbol] = Int32(next.count - 1)
                    node = next.count - 1
                }
            }
            outputs[node].append(Int32(index))
        }
        // Breadth-first failure links.
        var queue: [Int] = []
        for (_, child) in next[0] { queue.append(Int(child)) }
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for (symbol, childIndex) in next[node] {
                let child = Int(childIndex)
                queue.append(child)
                var f = Int(fail[node])
                while f != 0 && next[f][symbol] == nil { f = Int(fail[f]) }
                let target = next[f][symbol].map(Int.init) ?? 0
                fail[child] = Int32(target == child ? 0 : target)
                outputs[child] += outputs[Int(fail[child])]
            }
        }
    }

    /// Every (pattern, start, end) occurrence, `end` exclusive.
    func matches(in text: [UInt32]) -> [(pattern: Int, start: Int, end: Int)] {
        var found: [(pattern: Int, start: Int, end: Int)] = []
        var node = 0
        for (position, symbol) in text.enumerated() {
            while node != 0 && next[node][symbol] == nil { node = Int(fail[node]) }
            node = next[node][symbol].map(Int.init) ?? 0
            for pattern in outputs[node] {
                let length = lengths[Int(pattern)]
                found.append((Int(pattern), position + 1 - length, position + 1))
            }
        }
        return found
    }
}
