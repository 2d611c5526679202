import EgressAPI
import Foundation
import Hummingbird
import PolicyLang

extension AdminAPI {
    /// The workload inventory: list, replace, put and delete one.
    /// `read` routes need a `viewer` token, `change` routes an `admin` one.
    func addWorkloadsRoutes(read: RouterGroup<AdminRequestContext>, change: RouterGroup<AdminRequestContext>) {
        read.get("workloads") { request, _ in
            let (generation, workloads) = try inventory.list()
            return try AdminJSON.response(WorkloadsPage(generation: generation, workloads: workloads))
        }
        change.put("workloads") { request, _ in
            let body = try await AdminJSON.decode(WorkloadList.self, from: request)
            let generation = try invalidAsBadRequest { try inventory.replace(body.workloads) }
            return try AdminJSON.response(["generation": generation, "workloads": Int64(body.workloads.count)])
        }
        change.put("workloads/{namespace}/{pod}") { request, context in
            let body = try await AdminJSON.decode(WorkloadBody.self, from: request)
            let workload = Workload(
                namespace: try decoded(context, "namespace"), pod: try decoded(context, "pod"),
                serviceAccount: body.serviceAccount, labels: body.labels ?? [:], namespaceLabels: body.namespaceLabels ?? [:],
                spiffe: body.spiffe, ips: body.ips ?? [])
            let generation = try invalidAsBadRequest { try inventory.put(workload) }
            return try AdminJSON.response(["generation": generation])
        }
        change.delete("workloads/{namespace}/{pod}") { request, context in
            let namespace = try decoded(context, "namespace")
            let pod = try decoded(context, "pod")
            if let problem = Workload.nameProblem(namespace: namespace, pod: pod) { throw AdminError(.badRequest, problem) }
            guard let generation = try inventory.delete(namespace: namespace, pod: pod) else {
                throw AdminError(.notFound, "no workload \(namespace)/\(pod)")
            }
            return try AdminJSON.response(["generation": generation])
        }
    }
}
