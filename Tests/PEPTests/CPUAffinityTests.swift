import Foundation
import Testing

@testable import EnforcerCore
@testable import PEP

@Suite struct CPUAffinityTests {
    @Test func readsTheKernelsCPUListFromProcStatus() {
        let status = "Name:\tegress-pep\nCpus_allowed:\tf0f\nCpus_allowed_list:\t0-3,8,10-11\nMems_allowed_list:\t0\n"
        #expect(CPUAffinity.allowedCPUs(status: status) == [0, 1, 2, 3, 8, 10, 11])
        #expect(CPUAffinity.allowedCPUs(status: "Name:\tx\n") == [])
        #expect(CPUAffinity.allowedCPUs(status: nil) == [])
    }

    @Test func refusesWhatIsNotACPUList() {
        // CPUs past glibc's CPU_SETSIZE (1024) cannot be pinned to.
        for text in ["", "a", "3-1", "1-", "-1", "1,,2", "0-99999", "1-2-3", "1024", "0-1024"] {
            #expect(CPUAffinity.cpuList(text) == nil, "\(text)")
        }
        #expect(CPUAffinity.cpuList("5") == [5])
        #expect(CPUAffinity.cpuList("1023") == [1023])
    }

    /// This process's own mask, as the kernel reports it.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/status")))
    func thisProcessMayRunOnSomeCPU() {
        let cpus = CPUAffinity.allowedCPUs()
        #expect(!cpus.isEmpty)
        #expect(cpus == cpus.sorted())
    }
}
