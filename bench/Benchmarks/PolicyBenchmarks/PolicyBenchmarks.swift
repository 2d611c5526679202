import Benchmark
import PolicyGen
import PolicyLang

/// Decision time and allocations per decision, and compile time, for
/// generated sets of 10, 1,000 and 10,000 rules over 10,000 workloads.
/// One iteration is one decision, so the percentiles are per decision.
let benchmarks: @Sendable () -> Void = {
    let cursor = Cursor()
    for size in [10, 1_000, 10_000] {
        var generator = PolicyGenerator(rules: size)
        let file = SourceFile(path: "generated.egress", text: generator.policyText())
        let requests = generator.requests(10_000)
        let index = try! PolicyCompiler.compile([file])

        Benchmark(
            "decide, \(size) rules",
            configuration: .init(
                metrics: [.wallClock, .mallocCountTotal, .throughput], warmupIterations: 10_000,
                maxDuration: .seconds(3), maxIterations: 2_000_000)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                let request = requests[cursor.next() % requests.count]
                blackHole(index.decide(source: request.source, host: request.host, port: request.port))
            }
        }

        Benchmark(
            "compile, \(size) rules",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(3), maxIterations: 20)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try! PolicyCompiler.compile([file]))
            }
        }
    }
}

/// Walks through the pre-generated requests across iterations. Benchmarks run
/// one at a time on one thread, which is why unchecked Sendable is safe here.
final class Cursor: @unchecked Sendable {
    private var position = 0

    func next() -> Int {
        position &+= 1
        return position
    }
}
