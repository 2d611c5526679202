import ClientHello
import NIOCore

/// The state of one workload connection until it is joined to its upstream
/// or refused, without any I/O: `HelloPeekHandler` feeds it what happens and
/// does what it answers. Bytes are held from the first one on, so that the
/// upstream receives the hello and whatever followed it exactly as sent.
struct HelloPeekState {
    enum Phase: Equatable {
        /// The ClientHello is not complete yet.
        case reading
        /// The hello is read; the gate is deciding, or the upstream opening.
        case deciding
        /// Joined, refused or closed: nothing more is done here.
        case done
    }

    /// What to do after bytes arrive.
    enum ReadAction: Equatable {
        /// Wait for more.
        case wait
        /// The hello is complete: decide on it.
        case decide(ClientHelloResult)
        /// More is held than any hello and its followers may take: close.
        case closeOverfull
    }

    /// What to do when the workload half-closes.
    enum EndOfInputAction: Equatable {
        /// Gone before its hello was complete: close.
        case close
        /// Nothing now (deciding: the FIN follows the replay; done: not ours).
        case none
    }

    /// Bytes held at most, the hello and what follows it while the verdict
    /// is asked: the hello's cap and a few records more. The same bound
    /// holds again for what arrives while the upstream opens.
    static let maxHeld = ClientHelloReader.maxHelloLength + 4 * 16_384

    private(set) var phase = Phase.reading
    /// The workload half-closed while the verdict was asked: the FIN goes
    /// upstream after the replay.
    private(set) var inputClosed = false
    private var reader = ClientHelloReader()
    private var held: ByteBuffer?

    mutating func read(_ bytes: inout ByteBuffer) -> ReadAction {
        switch phase {
        case .done:
            return .wait
        case .deciding:
            // Reading goes on while the gate decides: what arrives behind
            // the hello is kept and replayed after it.
            return hold(&bytes) ? .wait : .closeOverfull
        case .reading:
            let result = bytes.withUnsafeReadableBytes { reader.feed($0) }
            guard hold(&bytes) else { return .closeOverfull }
            guard let result else { return .wait }
            phase = .deciding
            return .decide(result)
        }
    }

    /// False when the held bytes are over `maxHeld` (and are dropped).
    private mutating func hold(_ bytes: inout ByteBuffer) -> Bool {
        if held == nil {
            held = bytes
        } else {
            held?.writeBuffer(&bytes)
        }
        guard (held?.readableBytes ?? 0) > Self.maxHeld else { return true }
        // The reader refuses a longer hello itself; this bounds what a client
        // can make us hold behind one.
        phase = .done
        held = nil
        return false
    }

    mutating func inputEnded() -> EndOfInputAction {
        switch phase {
        case .reading:
            phase = .done
            return .close
        case .deciding:
            inputClosed = true
            return .none
        case .done:
            return .none
        }
    }

    /// The hello's deadline passed: true when the connection is to close
    /// (it was still reading its hello).
    mutating func helloDeadlinePassed() -> Bool {
        guard phase == .reading else { return false }
        phase = .done
        return true
    }

    /// Everything held so far, to send upstream; later bytes are held anew.
    mutating func takeHeld() -> ByteBuffer {
        defer { held = nil }
        return held ?? ByteBuffer()
    }

    /// Joined or refused: no more bytes are held or acted on.
    mutating func finish() {
        phase = .done
    }

    /// Refused: what was held is dropped.
    mutating func refuse() {
        phase = .done
        held = nil
    }
}
