import Synchronization
import Testing
@testable import Warren

@Suite(.timeLimit(.minutes(1))) struct HandlerPoolTests {
    /// Every job runs exactly once, and closing the pool ends every worker, idle ones included:
    /// the consumer's handler group waits for its workers, so a worker left waiting would hang
    /// the consumer's stop.
    @Test func runsEveryJobOnceAndWorkersEndOnClose() async {
        let pool = HandlerPool<Int>()
        let record = Record()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await pool.run { job in
                        record.started(job)
                        record.finished()
                    }
                    record.workerEnded()
                }
            }
            // Idle first, so the first jobs go to waiting workers and the rest to the queue.
            await awaitCondition("all three workers wait for a job") { pool.idleCount == 3 }
            for job in 0..<100 { pool.submit(job) }
            await awaitCondition("every job ran") { record.jobs.count == 100 }
            await awaitCondition("all three workers wait for a job again") { pool.idleCount == 3 }
            #expect(record.workersEnded == 0, "a worker ended before the pool was closed")
            pool.close()
            await awaitCondition("every worker ended after close") { record.workersEnded == 3 }
            await group.waitForAll()
        }
        #expect(record.jobs.sorted() == Array(0..<100))
    }

    /// At most one job per worker runs at a time: a job submitted while every worker is busy
    /// waits in the queue and starts on the first worker that finishes; jobs queued before
    /// `close` still run.
    @Test func aJobWaitsForABusyWorkerAndQueuedJobsSurviveClose() async {
        let pool = HandlerPool<Int>()
        let gates = (0..<3).map { _ in Latch() }
        let record = Record()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    await pool.run { job in
                        record.started(job)
                        await gates[job].wait()
                        record.finished()
                    }
                }
            }
            pool.submit(0)
            pool.submit(1)
            await awaitCondition("both workers run a job") { record.jobs.count == 2 }
            pool.submit(2)
            pool.close()
            // Job 2 has no free worker: it waits in the queue, not beside the two.
            #expect(pool.idleCount == 0)
            #expect(record.jobs == [0, 1], "a third job started while both workers were busy")
            gates[1].open()
            await awaitCondition("the queued job starts once a worker is free") { record.jobs.count == 3 }
            gates[0].open()
            gates[2].open()
            await group.waitForAll()
        }
        #expect(record.highest == 2)
        #expect(record.jobs == [0, 1, 2])
    }
}

/// What the workers did, shared between them and the test.
private final class Record: Sendable {
    private struct State {
        var jobs: [Int] = []
        var running = 0
        var highest = 0
        var workersEnded = 0
    }

    private let state = Mutex(State())

    var jobs: [Int] { state.withLock { $0.jobs } }
    /// The most jobs that ran at once.
    var highest: Int { state.withLock { $0.highest } }
    var workersEnded: Int { state.withLock { $0.workersEnded } }

    func started(_ job: Int) {
        state.withLock { state in
            state.jobs.append(job)
            state.running += 1
            state.highest = max(state.highest, state.running)
        }
    }

    func finished() { state.withLock { $0.running -= 1 } }
    func workerEnded() { state.withLock { $0.workersEnded += 1 } }
}
