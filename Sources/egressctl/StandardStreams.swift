import Foundation

/// Writes to standard output and standard error. Output is written as it is
/// produced (the batch evaluator passes large chunks), so it interleaves with
/// error messages in the order they happen.
enum StandardStreams {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
