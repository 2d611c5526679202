/// Checks text that comes from an enforcer or an administrator and ends up
/// in the audit trail, the inventory or a log. Control characters are
/// refused, not stored: SQLite hands text back to C as NUL-terminated, so a
/// U+0000 came back cut short (`api.stripe.com\u{0}.evil.example` read as
/// `api.stripe.com`), which broke the audit chain's own verification and hid
/// what was really asked for. A line break or an escape sequence would forge
/// lines in a log or a terminal the same way.
public enum PrintableText {
    /// Why `text` may not be stored, naming `field`; `nil` when it may.
    public static func problem(_ text: String, field: String) -> String? {
        for (offset, scalar) in text.unicodeScalars.enumerated() where isControl(scalar) {
            let code = String(scalar.value, radix: 16, uppercase: true)
            return "'\(field)' contains the control character U+\(String(repeating: "0", count: max(0, 4 - code.count)))\(code) at character \(offset + 1); control characters are not accepted"
        }
        return nil
    }

    /// C0 and C1 controls and DEL.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
