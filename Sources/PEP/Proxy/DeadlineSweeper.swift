import EnforcerCore
import NIOCore

/// A handler with a time limit that a `DeadlineSweeper` checks.
protocol SweptHandler: AnyObject {
    /// Where the sweeper keeps it; set by the sweeper only.
    var sweepIndex: Int? { get set }
    /// Closes the connection if its time is up. False when the handler needs
    /// no more checks (the limit passed or no longer applies).
    func sweep(now: NIODeadline) -> Bool
}

/// The time limits of one event loop's connections (the ClientHello, the
/// CONNECT request, idleness), checked by one repeating timer per event loop
/// instead of a timer per connection and limit.
///
/// NIO keeps scheduled tasks in a heap whose cancel is a linear search, and
/// a new earliest timer costs a `timerfd_settime`: with a timer per
/// connection, every accept and every close cost a system call and a pass
/// over all open connections' timers. Here adding and removing are O(1) and
/// a tick is one call per tracked connection. A limit is enforced up to one
/// tick late. The timer stops after a tick with nothing to check, so an idle
/// event loop is not woken, and starts again with the next handler.
final class DeadlineSweeper {
    let eventLoop: EventLoop
    let tick: TimeAmount
    private var entries: [SweptHandler] = []
    private var timer: RepeatedTask?

    /// `tick`: how often limits are checked; a quarter of the shortest limit
    /// keeps them within 25%.
    init(eventLoop: EventLoop, tick: TimeAmount) {
        self.eventLoop = eventLoop
        self.tick = tick
    }

    /// The tick for these limits: a quarter of the shortest, between 10 ms and 1 s.
    static func tick(for limits: [TimeAmount]) -> TimeAmount {
        let shortest = limits.min() ?? .seconds(1)
        return max(.milliseconds(10), min(.seconds(1), .nanoseconds(shortest.nanoseconds / 4)))
    }

    var count: Int { entries.count }

    func add(_ handler: SweptHandler) {
        eventLoop.preconditionInEventLoop()
        guard handler.sweepIndex == nil else { return }
        handler.sweepIndex = entries.count
        entries.append(handler)
        if timer == nil {
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            timer = eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
                bound.value.sweepAll()
            }
        }
    }

    func remove(_ handler: SweptHandler) {
        guard let index = handler.sweepIndex, index < entries.count, entries[index] === handler else { return }
        handler.sweepIndex = nil
        let last = entries.removeLast()
        if index < entries.count {
            entries[index] = last
            last.sweepIndex = index
        }
    }

    /// A handler's sweep may close its connection, which may remove it or
    /// another handler meanwhile: the pass goes over a snapshot.
    private func sweepAll() {
        guard !entries.isEmpty else {
            timer?.cancel()
            timer = nil
            return
        }
        let now = eventLoop.now
        for handler in entries where !handler.sweep(now: now) {
            remove(handler)
        }
    }

    var isTicking: Bool { timer != nil }
}
