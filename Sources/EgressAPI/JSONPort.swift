import Foundation

/// The `port` of a request decoded by JSONSerialization, for the decision
/// API and `egressctl eval --batch` alike.
public enum JSONPort {
    public struct Invalid: Error, Sendable {
        public let message: String
    }

    /// The port in `value`; 443 when it is missing or null;
    /// `DecisionRequest.anyPort` for the string `"any"`.
    public static func read(_ value: Any?) throws(Invalid) -> Int {
        switch value {
        case let text as String:
            guard text == "any" else { throw Invalid(message: "'port' must be an integer or \"any\", not \"\(text.prefix(20))\"") }
            return DecisionRequest.anyPort
        case let number as NSNumber where isInteger(number):
            // Range-checked as a double first: intValue wraps numbers beyond
            // Int64, and 18446744073709551615 must not read as -1.
            guard (1...65535).contains(number.doubleValue) else {
                throw Invalid(message: "port \(number.stringValue) is outside 1-65535")
            }
            return number.intValue
        case nil, is NSNull:
            return 443
        default:
            throw Invalid(message: "'port' must be an integer or \"any\"")
        }
    }

    /// Whether an NSNumber holds a whole number: its Objective-C type code
    /// tells an integer ("q", "l", "i", ...) from a boolean ("c"), which
    /// JSONSerialization also hands over as a number, or a fraction ("d", "f").
    private static func isInteger(_ number: NSNumber) -> Bool {
        !["c", "d", "f"].contains(String(cString: number.objCType))
    }
}
