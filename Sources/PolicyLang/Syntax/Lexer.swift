/// Splits a file into tokens and comments.
///
/// A line break ends a statement unless the last token before it (comments
/// aside) was a comma: that is how a statement continues on the next line.
struct Lexer {
    private let bytes: [UInt8]
    private(set) var tokens: [Token] = []
    private(set) var comments: [Comment] = []

    init(_ file: SourceFile) {
        self.bytes = file.bytes
        tokenize()
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    private func endsWord(at index: Int) -> Bool {
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"),
            UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "="),
            UInt8(ascii: "!"), UInt8(ascii: "#"):
            return true
        case UInt8(ascii: "-"):
            return index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: ">")
        default:
            return false
        }
    }

    private mutating func emit(_ kind: Token.Kind, _ span: Range<Int>) {
        tokens.append(Token(kind: kind, span: span, text: String(decoding: bytes[span], as: UTF8.self)))
    }

    private mutating func tokenize() {
        // A UTF-8 byte order mark at the start is not part of the text.
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lineHasToken = false
        while index < bytes.count {
            let byte = bytes[index]
            if Self.isBlank(byte) {
                index += 1
                continue
            }
            let start = index
            switch byte {
            case UInt8(ascii: "#"):
                index = comment(from: start, ownLine: !lineHasToken)
            case UInt8(ascii: "\n"):
                index += 1
                lineHasToken = false
                if let last = tokens.last, last.kind != .comma, last.kind != .newline {
                    emit(.newline, start..<index)
                }
            default:
                index = punctuation(at: start) ?? word(from: start)
                lineHasToken = true
            }
        }
        if let last = tokens.last, last.kind != .newline {
            emit(.newline, bytes.count..<bytes.count)
        }
        emit(.endOfFile, bytes.count..<bytes.count)
    }

    /// Keeps the comment that starts at `start`, without trailing blanks;
    /// returns where its line ends.
    private mutating func comment(from start: Int, ownLine: Bool) -> Int {
        var index = start
        while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
        var end = index
        while end > start, Self.isBlank(bytes[end - 1]) { end -= 1 }
        comments.append(Comment(text: String(decoding: bytes[start..<end], as: UTF8.self), span: start..<end, ownLine: ownLine))
        return index
    }

    /// Emits the punctuation at `start` and returns where it ends; nil when
    /// there is none there.
    private mutating func punctuation(at start: Int) -> Int? {
        func next(is byte: Unicode.Scalar) -> Bool { start + 1 < bytes.count && bytes[start + 1] == UInt8(ascii: byte) }
        let (kind, length): (Token.Kind, Int)
        switch bytes[start] {
        case UInt8(ascii: ","): (kind, length) = (.comma, 1)
        case UInt8(ascii: "("): (kind, length) = (.openParen, 1)
        case UInt8(ascii: ")"): (kind, length) = (.closeParen, 1)
        case UInt8(ascii: "="): (kind, length) = next(is: "=") ? (.doubleEquals, 2) : (.equals, 1)
        case UInt8(ascii: "!"): (kind, length) = next(is: "=") ? (.notEquals, 2) : (.bang, 1)
        case UInt8(ascii: "-") where next(is: ">"): (kind, length) = (.arrow, 2)
        default: return nil
        }
        emit(kind, start..<start + length)
        return start + length
    }

    /// Emits the word at `start` (at least its first byte) and returns where it ends.
    private mutating func word(from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count, !endsWord(at: index) { index += 1 }
        emit(.word, start..<index)
        return index
    }
}
