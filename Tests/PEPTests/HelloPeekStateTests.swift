import ClientHello
import NIOCore
import Testing
import TestSupport

@testable import PEP

/// The peek's state machine alone: what it holds, when it decides, and what
/// it says to do on a half-close, a deadline or too many bytes. (Each action
/// is taken into a constant first: `#expect` cannot hold a mutating call.)
@Suite struct HelloPeekStateTests {
    let hello = ByteBuffer(bytes: HelloBuilder(host: "api.example.com").bytes)

    @Test func theHelloIsDecidedOnceCompleteAndEveryByteIsKept() {
        var state = HelloPeekState()
        var first = hello.getSlice(at: 0, length: 10)!
        var rest = hello.getSlice(at: 10, length: hello.readableBytes - 10)!
        let partly = state.read(&first)
        #expect(partly == .wait && state.phase == .reading)
        let whole = state.read(&rest)
        #expect(whole == .decide(.sni("api.example.com", ech: false)))
        #expect(state.phase == .deciding)
        // What follows the hello while deciding is held behind it.
        var after = ByteBuffer(string: "early data")
        let behind = state.read(&after)
        #expect(behind == .wait)
        var expected = hello
        expected.writeString("early data")
        let held = state.takeHeld()
        #expect(held == expected)
        // Taken once: later bytes start a new hold.
        let again = state.takeHeld()
        #expect(again.readableBytes == 0)
    }

    @Test func aHalfCloseBeforeTheHelloClosesAndOneWhileDecidingWaits() {
        var reading = HelloPeekState()
        let early = reading.inputEnded()
        #expect(early == .close && reading.phase == .done)

        var deciding = HelloPeekState()
        var bytes = hello
        _ = deciding.read(&bytes)
        let late = deciding.inputEnded()
        #expect(late == .none && deciding.inputClosed && deciding.phase == .deciding)
    }

    @Test func theDeadlineClosesOnlyAConnectionStillReading() {
        var reading = HelloPeekState()
        let first = reading.helloDeadlinePassed()
        let second = reading.helloDeadlinePassed()
        #expect(first && !second && reading.phase == .done)

        var deciding = HelloPeekState()
        var bytes = hello
        _ = deciding.read(&bytes)
        let passed = deciding.helloDeadlinePassed()
        #expect(!passed && deciding.phase == .deciding)
    }

    @Test func holdingMoreThanTheCapClosesAndDropsWhatWasHeld() {
        var state = HelloPeekState()
        var bytes = hello
        _ = state.read(&bytes)
        var flood = ByteBuffer(repeating: 0x17, count: HelloPeekState.maxHeld)
        let action = state.read(&flood)
        let held = state.takeHeld()
        #expect(action == .closeOverfull && state.phase == .done && held.readableBytes == 0)
    }

    @Test func afterTheEndNothingIsActedOn() {
        var state = HelloPeekState()
        var bytes = hello
        _ = state.read(&bytes)
        state.refuse()
        var more = ByteBuffer(string: "more")
        let action = state.read(&more)
        let held = state.takeHeld()
        let end = state.inputEnded()
        #expect(action == .wait && held.readableBytes == 0 && end == .none)
    }
}
