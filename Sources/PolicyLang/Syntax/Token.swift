/// A lexical token of the policy language, with its byte span.
struct Token: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// A run of bytes that are not blanks nor one of `, ( ) = ! # ->`.
        case word
        case arrow  // ->
        case comma  // ,
        case openParen  // (
        case closeParen  // )
        case equals  // =
        case doubleEquals  // ==
        case notEquals  // !=
        case bang  // !
        /// The end of a statement (a line break not after a comma).
        case newline
        case endOfFile
    }

    let kind: Kind
    let span: Range<Int>
    /// The token's text; for `.word` tokens this is the word.
    let text: String

    var describedForMessage: String {
        switch kind {
        case .word: return "'\(text)'"
        case .newline: return "end of line"
        case .endOfFile: return "end of file"
        default: return "'\(text)'"
        }
    }
}

/// A `#` comment and where it stood.
public struct Comment: Sendable, Hashable {
    public let text: String
    public let span: Range<Int>
    /// True when only blanks precede it on its line.
    public let ownLine: Bool
}
