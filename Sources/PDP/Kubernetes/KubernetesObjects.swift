/// The parts of Kubernetes objects the inventory reads, as the API serves
/// them (core/v1 `Pod` and `Namespace`, their lists and watch events; see
/// the Kubernetes API reference and "API Concepts: efficient detection of
/// changes"). Everything else in an object is ignored.
enum Kubernetes {
    struct ObjectMeta: Codable, Sendable, Equatable {
        var name: String
        var namespace: String?
        var uid: String?
        var resourceVersion: String?
        var labels: [String: String]?
        /// Set once deletion has begun; the pod may run on for its grace period.
        var deletionTimestamp: String?
    }

    struct Pod: Codable, Sendable, Equatable {
        struct Spec: Codable, Sendable, Equatable {
            var serviceAccountName: String?
            var hostNetwork: Bool?
        }

        struct Status: Codable, Sendable, Equatable {
            struct PodIP: Codable, Sendable, Equatable {
                var ip: String
            }

            var phase: String?
            var podIP: String?
            var podIPs: [PodIP]?
        }

        var metadata: ObjectMeta
        var spec: Spec?
        var status: Status?
    }

    struct Namespace: Codable, Sendable, Equatable {
        var metadata: ObjectMeta
    }

    /// A page of a list: its items, and where the list continues.
    struct List<Item: Codable & Sendable>: Codable, Sendable {
        struct Meta: Codable, Sendable {
            var resourceVersion: String?
            /// Present while more pages follow (`?continue=`).
            var `continue`: String?
        }

        var metadata: Meta
        var items: [Item]
    }

    /// One line of a watch stream.
    struct WatchEvent<Object: Codable & Sendable>: Decodable, Sendable {
        enum Kind: String, Decodable, Sendable {
            case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
        }

        var type: Kind
        /// The object; for an ERROR event a `Status` instead (see `Status`).
        var object: Object
    }

    /// What an ERROR event carries, and a failed request's body.
    struct Status: Codable, Sendable {
        var code: Int?
        var reason: String?
        var message: String?
    }
}
