import NIOHTTP2

/// The errors swift-nio-http2 reports when one of its guards against a
/// misbehaving peer fires. NIO sends GOAWAY for each but leaves the socket
/// open, and reports stream errors the same way, so these are named here:
/// for them, and only them, the decision API closes the connection.
enum NIOAbuseGuards {
    static func fired(_ error: Error) -> Bool {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames, is NIOHTTP2Errors.ExcessiveStreamErrors,
            is NIOHTTP2Errors.ExcessiveNumberOfGlitches, is NIOHTTP2Errors.ExcessiveControlFrames,
            is NIOHTTP2Errors.ExcessiveEmptyDataFrames, is NIOHTTP2Errors.ExcessiveContinuationFrames,
            is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering, is NIOHTTP2Errors.BadClientMagic:
            return true
        default:
            return false
        }
    }
}
