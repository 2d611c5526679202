import Foundation

/// Milliseconds since 1970: the time unit of every record the enforcer reports.
public func wallClockMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
