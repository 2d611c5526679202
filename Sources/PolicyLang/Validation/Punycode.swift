/// Punycode (RFC 3492) encoding of non-ASCII labels, so that an error about a
/// non-ASCII host pattern can say what to write instead. Nothing in the
/// dependency set offers IDNA without Foundation. Case mapping and the other
/// IDNA normalization steps are not done: the result is a hint, not a lookup key.
enum Punycode {
    static func toASCII(_ name: String) -> String {
        name.lowercased().split(separator: ".", omittingEmptySubsequences: false).map { label in
            label.unicodeScalars.allSatisfy(\.isASCII) ? String(label) : "xn--" + encode(Array(label.unicodeScalars))
        }.joined(separator: ".")
    }

    private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700

    private static func digit(_ value: Int) -> Character {
        Character(Unicode.Scalar(UInt8(value < 26 ? value + 97 : value - 26 + 48)))
    }

    private static func adapt(_ delta: Int, _ count: Int, _ first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / count
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    static func encode(_ scalars: [Unicode.Scalar]) -> String {
        var output = String(String.UnicodeScalarView(scalars.filter(\.isASCII)))
        let basicCount = output.unicodeScalars.count
        var handled = basicCount
        if basicCount > 0 { output.append("-") }
        var n = 128, delta = 0, bias = 72
        while handled < scalars.count {
            // Some scalar is at least n while any is unhandled.
            guard let m = scalars.map({ Int($0.value) }).filter({ $0 >= n }).min() else { break }
            delta += (m - n) * (handled + 1)
            n = m
            for scalar in scalars {
                let c = Int(scalar.value)
                if c < n { delta += 1 }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return output
    }
}
