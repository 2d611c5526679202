/// The parts of Kubernetes objects the inventory reads, as the API serves
/// them (core/v1 `Pod` and `Namespace`, their lists and watch events; see
/// the Kubernetes API reference and "API Concepts: efficient detection of
/// changes"). Everything else in an object is ignored.
public enum Kubernetes {
    public struct ObjectMeta: Codable, Sendable, Equatable {
        public var name: String
        public var namespace: String?
        public var uid: String?
        public var resourceVersion: String?
        public var labels: [String: String]?
        /// Set once deletion has begun; the pod may run on for its grace period.
        public var deletionTimestamp: String?

        public init(
            name: String, namespace: String? = nil, uid: String? = nil, resourceVersion: String? = nil,
            labels: [String: String]? = nil, deletionTimestamp: String? = nil
        ) {
            self.name = name
            self.namespace = namespace
            self.uid = uid
            self.resourceVersion = resourceVersion
            self.labels = labels
            self.deletionTimestamp = deletionTimestamp
        }

        enum CodingKeys: String, CodingKey { case name, namespace, uid, resourceVersion, labels, deletionTimestamp }

        /// A BOOKMARK's object carries only `resourceVersion`: no name.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
            namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
            uid = try c.decodeIfPresent(String.self, forKey: .uid)
            resourceVersion = try c.decodeIfPresent(String.self, forKey: .resourceVersion)
            labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
            deletionTimestamp = try c.decodeIfPresent(String.self, forKey: .deletionTimestamp)
        }
    }

    public struct Pod: Codable, Sendable, Equatable {
        public struct Spec: Codable, Sendable, Equatable {
            public var serviceAccountName: String?
            public var hostNetwork: Bool?

            public init(serviceAccountName: String? = nil, hostNetwork: Bool? = nil) {
                self.serviceAccountName = serviceAccountName
                self.hostNetwork = hostNetwork
            }
        }

        public struct Status: Codable, Sendable, Equatable {
            public struct PodIP: Codable, Sendable, Equatable {
                public var ip: String
                public init(ip: String) { self.ip = ip }
            }

            public var phase: String?
            public var podIP: String?
            public var podIPs: [PodIP]?

            public init(phase: String? = nil, podIP: String? = nil, podIPs: [PodIP]? = nil) {
                self.phase = phase
                self.podIP = podIP
                self.podIPs = podIPs
            }
        }

        public var metadata: ObjectMeta
        public var spec: Spec?
        public var status: Status?

        public init(metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
            self.metadata = metadata
            self.spec = spec
            self.status = status
        }
    }

    public struct Namespace: Codable, Sendable, Equatable {
        public var metadata: ObjectMeta
        public init(metadata: ObjectMeta) { self.metadata = metadata }
    }

    /// A page of a list: its items, and where the list continues.
    public struct List<Item: Codable & Sendable>: Codable, Sendable {
        public struct Meta: Codable, Sendable {
            public var resourceVersion: String?
            /// Present while more pages follow (`?continue=`).
            public var `continue`: String?
        }

        public var metadata: Meta
        public var items: [Item]
    }

    /// What a watch event says happened.
    public enum EventType: String, Decodable, Sendable {
        case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
    }

    /// One line of a watch stream.
    public struct WatchEvent<Object: Codable & Sendable>: Decodable, Sendable {
        public typealias Kind = EventType

        public var type: Kind
        /// The object; for an ERROR event a `Status` instead (see `Status`).
        public var object: Object
    }

    /// What an ERROR event carries, and a failed request's body.
    public struct Status: Codable, Sendable {
        public var code: Int?
        public var reason: String?
        public var message: String?
    }
}
