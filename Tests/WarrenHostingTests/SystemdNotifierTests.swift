import Testing
@testable import WarrenHosting
import Warren

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SystemdNotifierTests {
    @Test func offWithoutNotifySocket() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000"])
        #expect(!notifier.isEnabled && notifier.watchdogInterval == nil)
        #expect(!notifier.notify(["READY=1"]))
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]).isEnabled)
    }

    @Test func watchdogOnlyForThisProcess() {
        let mine = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid())"])
        #expect(mine.watchdogInterval == .seconds(3))
        let anyPid = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "500"])
        #expect(anyPid.watchdogInterval == .microseconds(500))
        let other = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid() + 1)"])
        #expect(other.watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "0"]).watchdogInterval == nil)
    }

    @Test func aMissingSocketIsNotAnError() {
        // Nobody listens there: the datagram is dropped and the caller goes on.
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/warren-notify.sock"]).notify(["READY=1"]))
    }
}
