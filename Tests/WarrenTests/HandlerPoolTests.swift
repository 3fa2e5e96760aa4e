import Synchronization
import Testing
@testable import Warren

/// A job that may start while `stopped` is not set (as a `HandlerJob` until the drain begins).
private struct TestJob: PoolJob {
    let id: Int
    var stopped: Flag? = nil
    var mayStart: Bool { !(stopped?.isSet ?? false) }
}

private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

@Suite(.timeLimit(.minutes(1))) struct HandlerPoolTests {
    /// Every job runs exactly once, and closing the pool ends every worker, idle ones included:
    /// the consumer's handler group waits for its workers, so a worker left waiting would hang
    /// the consumer's stop.
    @Test func runsEveryJobOnceAndWorkersEndOnClose() async {
        let pool = HandlerPool<TestJob>(limit: ConcurrencyLimit(3))
        let record = Record()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await pool.run(
                        start: { job in
                            record.started(job.id)
                            record.finished()
                        },
                        giveBack: { job in record.gaveBack(job.id) })
                    record.workerEnded()
                }
            }
            // Idle first, so the first jobs go to waiting workers and the rest to the queue.
            await awaitCondition("all three workers wait for a job") { pool.idleCount == 3 }
            for job in 0..<100 { pool.submit(TestJob(id: job)) }
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
        let limit = ConcurrencyLimit(2)
        let pool = HandlerPool<TestJob>(limit: limit)
        let gates = (0..<3).map { _ in Latch() }
        let record = Record()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    await pool.run(
                        start: { job in
                            record.started(job.id)
                            await gates[job.id].wait()
                            record.finished()
                        },
                        giveBack: { job in record.gaveBack(job.id) })
                }
            }
            pool.submit(TestJob(id: 0))
            pool.submit(TestJob(id: 1))
            await awaitCondition("both workers run a job") { record.jobs.count == 2 }
            // Each running job holds a slot of the limit.
            #expect(limit.inUse == 2)
            pool.submit(TestJob(id: 2))
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
        #expect(record.givenBack.isEmpty)
        #expect(limit.inUse == 0, "a finished job kept its slot")
    }

    /// A job still queued when the drain begins (or its connection closes) is given back, not
    /// run, and without taking a slot: the drain waits only for handlers already running.
    @Test func aQueuedJobThatMayNoLongerStartIsGivenBackWithoutASlot() async {
        let limit = ConcurrencyLimit(1)
        let pool = HandlerPool<TestJob>(limit: limit)
        let gate = Latch()
        let stopped = Flag()
        let record = Record()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await pool.run(
                    start: { job in
                        record.started(job.id)
                        if job.id == 0 { await gate.wait() }
                        record.finished()
                    },
                    giveBack: { job in
                        #expect(limit.inUse == 0, "a job given back took a slot")
                        record.gaveBack(job.id)
                    })
            }
            for id in 0..<3 { pool.submit(TestJob(id: id, stopped: stopped)) }
            await awaitCondition("the first job runs") { record.jobs == [0] }
            #expect(limit.inUse == 1)
            stopped.set()
            gate.open()
            await pool.waitUntilIdle()
            #expect(record.jobs == [0], "a queued job started after the drain began")
            #expect(record.givenBack == [1, 2])
            pool.close()
            await group.waitForAll()
        }
        #expect(limit.inUse == 0)
    }

    /// `waitUntilIdle` (what a crash suspect running alone waits for) returns only once no job is
    /// queued and none runs: a queued job that no worker took yet counts, as a running one does.
    @Test func waitUntilIdleWaitsForQueuedAndRunningJobs() async {
        let pool = HandlerPool<TestJob>(limit: ConcurrencyLimit(1))
        await pool.waitUntilIdle()  // idle from the start: returns at once
        let gate = Latch()
        let record = Record()
        let idle = Latch()
        await withTaskGroup(of: Void.self) { group in
            // No worker yet: the job stays queued.
            pool.submit(TestJob(id: 0))
            group.addTask {
                await pool.waitUntilIdle()
                idle.open()
            }
            await awaitCondition("waitUntilIdle waits for the queued job") { pool.idleWaitingCount == 1 }
            group.addTask {
                await pool.run(
                    start: { job in
                        record.started(job.id)
                        await gate.wait()
                        record.finished()
                    },
                    giveBack: { job in record.gaveBack(job.id) })
            }
            await awaitCondition("the worker runs the job") { record.jobs == [0] }
            // Taken from the queue but still running: not idle yet.
            #expect(!idle.isOpen, "idle while a job was running")
            #expect(pool.idleWaitingCount == 1)
            gate.open()
            await idle.wait()
            #expect(record.running == 0, "idle before the job finished")
            pool.close()
            await group.waitForAll()
        }
    }

    /// A burst wakes one idle worker at a time, each woken worker waking the next while jobs
    /// are left queued: every worker still gets one of a burst of slow jobs.
    @Test func aBurstStartsOnEveryIdleWorker() async {
        let pool = HandlerPool<TestJob>(limit: ConcurrencyLimit(3))
        let gate = Latch()
        let record = Record()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await pool.run(
                        start: { job in
                            record.started(job.id)
                            await gate.wait()
                            record.finished()
                        },
                        giveBack: { job in record.gaveBack(job.id) })
                }
            }
            await awaitCondition("all three workers wait for a job") { pool.idleCount == 3 }
            for id in 0..<5 { pool.submit(TestJob(id: id)) }
            await awaitCondition("three of the burst run at once") { record.running == 3 }
            #expect(record.jobs == [0, 1, 2], "started out of submission order")
            gate.open()
            await awaitCondition("the whole burst ran") { record.jobs.count == 5 }
            pool.close()
            await group.waitForAll()
        }
        #expect(record.highest == 3)
    }
}

/// What the workers did, shared between them and the test.
private final class Record: Sendable {
    private struct State {
        var jobs: [Int] = []
        var running = 0
        var highest = 0
        var workersEnded = 0
        var givenBack: [Int] = []
    }

    private let state = Mutex(State())

    var jobs: [Int] { state.withLock { $0.jobs } }
    /// The most jobs that ran at once.
    var highest: Int { state.withLock { $0.highest } }
    var workersEnded: Int { state.withLock { $0.workersEnded } }
    var running: Int { state.withLock { $0.running } }
    var givenBack: [Int] { state.withLock { $0.givenBack } }

    func started(_ job: Int) {
        state.withLock { state in
            state.jobs.append(job)
            state.running += 1
            state.highest = max(state.highest, state.running)
        }
    }

    func finished() { state.withLock { $0.running -= 1 } }
    func workerEnded() { state.withLock { $0.workersEnded += 1 } }
    func gaveBack(_ job: Int) { state.withLock { $0.givenBack.append(job) } }
}
