import NIOCore

/// The clocks of one decision API connection, counted in ticks of one
/// repeating task rather than read from the system clock: a request's age
/// is then an integer stored with it, and no frame pays for a clock read.
/// A tick is a quarter of the shortest timeout (at most 1 s), so a timeout
/// fires within about one tick of its time, early or late: within a quarter
/// of it.
struct ConnectionDeadlines {
    /// Why a connection is closed by its clock.
    enum Expiry: String {
        case prefaceTimeout = "preface-timeout"
        case idleTimeout = "idle-timeout"
    }

    let tick: TimeAmount
    private let prefaceTicks: Int
    private let idleTicks: Int
    private let requestTicks: Int
    /// Ticks since the connection was accepted.
    private(set) var now = 0
    private var lastRead = 0
    private(set) var sawFrame = false

    init(preface: TimeAmount, idle: TimeAmount, request: TimeAmount) {
        let shortest = min(preface, idle, request)
        let tick = max(TimeAmount.milliseconds(10), min(.seconds(1), .nanoseconds(shortest.nanoseconds / 4)))
        self.tick = tick
        func ticks(_ amount: TimeAmount) -> Int { max(1, Int((amount.nanoseconds + tick.nanoseconds - 1) / tick.nanoseconds)) }
        prefaceTicks = ticks(preface)
        idleTicks = ticks(idle)
        requestTicks = ticks(request)
    }

    /// A frame arrived.
    mutating func frameRead() {
        sawFrame = true
        lastRead = now
    }

    /// One tick passed. `busy`: a request or a watch is open, so silence is
    /// not idleness (a watch is quiet until a policy changes).
    mutating func advance(busy: Bool) -> Expiry? {
        now += 1
        if !sawFrame { return now >= prefaceTicks ? .prefaceTimeout : nil }
        if !busy, now - lastRead >= idleTicks { return .idleTimeout }
        return nil
    }

    /// Whether a request whose headers came at tick `opened` is out of time.
    func requestExpired(openedAt opened: Int) -> Bool { now - opened >= requestTicks }
}
