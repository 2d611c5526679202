import NIOHPACK

extension DecisionConnectionHandler {
    /// What the handler needs of a request's headers.
    struct RequestHead {
        var method: String
        /// The `:path` without its query.
        var path: String
        var authorization: String?
        var contentType: String?
        /// What makes the block unusable as a request, if anything: NIO does
        /// not validate header blocks here (see DecisionServer).
        var malformed: String?

        /// One pass over the headers (HTTP/2 names are lower-case).
        init(_ headers: HPACKHeaders) {
            var method: String?, uri: String?, authorization: String?, contentType: String?, malformed: String?
            for (name, value, _) in headers {
                switch name {
                case ":method":
                    if method != nil { malformed = "two :method fields" }
                    method = value
                case ":path":
                    if uri != nil { malformed = "two :path fields" }
                    uri = value
                case "authorization": authorization = authorization ?? value
                case "content-type": contentType = contentType ?? value
                default: break
                }
            }
            if method == nil || uri == nil { malformed = "a request needs :method and :path" }
            self.malformed = malformed
            self.method = method ?? ""
            var path = uri ?? ""
            if let query = path.firstIndex(of: "?") { path = String(path[..<query]) }
            self.path = path
            self.authorization = authorization
            self.contentType = contentType
        }
    }
}
