import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

@testable import CalotypeCluster

/// A note that found another node's note of its batch pending is handed
/// off to that node's round; these check that the hand-off never strands it.
@Suite("Cluster: handing notes off to another node's round", .serialized, .timeLimit(.minutes(3)))
struct BatchSequencerTests {
    /// The node whose note "a" found first never runs its round (it
    /// stopped): "b", which handed its note off, finds it still pending and
    /// writes both itself once `handOffWait` has passed.
    @Test func aHandedOffNoteNoRoundTookIsWrittenByItsOwnNode() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(2)
            _ = try await queue.exchange("a")
            let sequencer = BatchSequencer(client: client, logger: queue.logger, handOffWait: .milliseconds(50))
            let heard = try await client.withConnection { connection in
                try await connection.listen(on: BatchEventLog.channel) { notifications in
                    let claimed = try await queue.exchange("b")
                    #expect(claimed.notes.count == 1 && claimed.notes[0].othersPending)
                    sequencer.notesCommitted(claimed.notes, ended: [], startedWait: .zero)
                    for try await notification in notifications where notification.payload.hasPrefix(batch.uuidString.lowercased()) {
                        return notification.payload
                    }
                    return ""
                }
            }
            #expect(heard == batch.uuidString.lowercased() + BatchSequencer.progressPayload)
            await sequencer.finish()
            #expect(sequencer.roundsBegun.load(ordering: .relaxed) == 1)
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            #expect(try await log.events(of: batch, after: 0).count == 4, "queued twice, started twice: a's note with b's")
            #expect(try await LeaseRescuer.Look.take(on: queue, notesUpTo: .max).strandedNotes.isEmpty)
        }
    }

    /// A handed-off note that the next statement finds taken (another
    /// node's round wrote it) costs its node no round.
    @Test func aHandedOffNoteFoundTakenCostsItsNodeNoRound() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(2)
            _ = try await queue.exchange("a")
            // Long enough that only the statement below can end b's wait.
            let sequencer = BatchSequencer(client: client, logger: queue.logger, handOffWait: .seconds(3600))
            let claimed = try await queue.exchange("b")
            sequencer.notesCommitted(claimed.notes, ended: [], startedWait: .zero)
            let watched = sequencer.handedOff
            #expect(watched.map(\.seq) == claimed.notes.map(\.seq), "handed off, and watched")
            let early = try await queue.exchange("b", limit: 0, handedOff: watched)
            #expect(early.stillPending == Set(claimed.notes.map(\.seq)))
            sequencer.taken(asked: watched, stillPending: early.stillPending)
            #expect(sequencer.handedOff.count == 1, "still pending: still watched")
            #expect(try await BatchSequencer.round(batch, client: client, logger: queue.logger) == 2, "a's round takes b's note too")
            let asked = sequencer.handedOff
            let look = try await queue.exchange("b", limit: 0, handedOff: asked)
            #expect(look.stillPending.isEmpty)
            sequencer.taken(asked: asked, stillPending: look.stillPending)
            #expect(sequencer.handedOff.isEmpty)
            // Returns only once b's task has ended (it would run its round now if one were due).
            await sequencer.finish()
            #expect(sequencer.roundsBegun.load(ordering: .relaxed) == 0)
        }
    }

    /// An item's end brings its claim's round closer, though the claim's
    /// own `started` note is pending when the end is written: it goes with
    /// this node's round, due at once, not watched as a hand-off.
    @Test func anEndBringsItsOwnClaimsRoundCloser() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(1)
            // Neither a claim's wait nor a hand-off's would end within the test.
            let sequencer = BatchSequencer(client: client, logger: queue.logger, handOffWait: .seconds(3600))
            let claimed = try await queue.exchange("b")
            sequencer.notesCommitted(claimed.notes, ended: [], startedWait: .seconds(3600))
            let heard = try await client.withConnection { connection in
                try await connection.listen(on: BatchEventLog.channel) { notifications in
                    let end = WorkQueue.EndNote(claimed.claims[0], claimed.claims[0].success, outcome: "{}")
                    let ended = try await queue.exchange("b", ends: [end], limit: 0)
                    #expect(ended.notes.count == 1 && ended.notes[0].othersPending, "its own started note was pending")
                    sequencer.notesCommitted(ended.notes, ended: [batch], startedWait: .seconds(3600))
                    #expect(sequencer.handedOff.isEmpty)
                    for try await notification in notifications where notification.payload.hasPrefix(batch.uuidString.lowercased()) {
                        return notification.payload
                    }
                    return ""
                }
            }
            #expect(heard == batch.uuidString.lowercased() + BatchSequencer.progressPayload)
            await sequencer.finish()
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            #expect(try await log.events(of: batch, after: 0).map(\.name) == ["progress", "progress", "result", "progress", "complete"])
        }
    }

    /// A note of a batch whose round this node has due anyway goes with
    /// that round, not handed off, even if others' notes are pending.
    @Test func aNoteGoesWithItsNodesOwnDueRound() async throws {
        try await withDatabase { client, queue in
            _ = try await queue.batch(3)
            let sequencer = BatchSequencer(client: client, logger: queue.logger, window: .seconds(3600))
            let own = try await queue.exchange("b")
            sequencer.notesCommitted(own.notes, ended: [], startedWait: .zero)
            _ = try await queue.exchange("a")
            let more = try await queue.exchange("b")
            #expect(more.notes.allSatisfy { $0.othersPending })
            sequencer.notesCommitted(more.notes, ended: [], startedWait: .zero)
            #expect(sequencer.handedOff.isEmpty, "its own round is due")
            await sequencer.finish()
            #expect(sequencer.roundsBegun.load(ordering: .relaxed) == 1, "the stopping node runs it at once")
            #expect(try await LeaseRescuer.Look.take(on: queue, notesUpTo: .max).strandedNotes.isEmpty)
        }
    }
}
