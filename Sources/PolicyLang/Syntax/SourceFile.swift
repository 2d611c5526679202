/// One policy or test file: its path (as given by the caller) and its bytes.
///
/// Positions everywhere in the language are byte offsets into `bytes`; lines and
/// columns are computed only when a diagnostic is rendered, from the line table.
public struct SourceFile: Sendable, Hashable {
    public let path: String
    public let bytes: [UInt8]
    /// Byte offset at which each line starts; `lineStarts[0] == 0`.
    public let lineStarts: [Int]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(offset + 1)
        }
        self.lineStarts = starts
    }

    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// Whether this file holds tests (`*_test.egress`) rather than policy.
    public var isTestFile: Bool { path.hasSuffix("_test.egress") }

    /// 1-based line and column (in Unicode code points) of a byte offset.
    public func location(of offset: Int) -> SourceLocation {
        let clamped = min(max(offset, 0), bytes.count)
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= clamped { low = mid } else { high = mid - 1 }
        }
        // Columns count Unicode code points, not bytes: skip UTF-8 continuation bytes.
        var column = 1
        for byte in bytes[lineStarts[low]..<clamped] where byte & 0xC0 != 0x80 { column += 1 }
        return SourceLocation(line: low + 1, column: column)
    }

    /// The text of a byte range, with invalid UTF-8 repaired.
    public func text(_ span: Range<Int>) -> String {
        String(decoding: bytes[span.clamped(to: 0..<bytes.count)], as: UTF8.self)
    }

    /// The text of a 1-based line, without its newline.
    public func lineText(_ line: Int) -> String {
        guard line >= 1, line <= lineStarts.count else { return "" }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return text(start..<max(start, end))
    }
}

public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public var description: String { "\(line):\(column)" }
}
