import ArgumentParser
import Foundation
import PolicyLang

/// `--public-suffix-list FILE`, shared by the commands that lint.
struct PublicSuffixOption: ParsableArguments {
    @Option(
        name: .customLong("public-suffix-list"),
        help: ArgumentHelp(
            "The Public Suffix List that broad-host reads.", discussion: "Defaults to Debian's publicsuffix package.",
            valueName: "file"))
    var path: String?

    func load() throws -> PublicSuffixList {
        let path = self.path ?? PublicSuffixList.debianPath
        guard let data = FileManager.default.contents(atPath: path) else {
            if self.path != nil { throw PolicyFiles.ReadError(path: path, reason: "cannot read the Public Suffix List") }
            StandardStreams.err(
                "egressctl: note: \(path) not found (apt-get install publicsuffix); broad-host treats only single labels such as 'com' as public suffixes\n")
            return .implicitOnly
        }
        return PublicSuffixList(text: String(decoding: data, as: UTF8.self))
    }
}
