import EgressAPI
import GRDB

extension PDPDatabase {
    /// Stores a new revision and, when asked, makes it active, in one
    /// transaction. The caller has checked that the files compile.
    func createRevision(files: [Revision.File], author: String, reason: String, activate: Bool) throws -> Revision {
        try pool.write { db in
            let created = nowMilliseconds()
            try db.execute(
                sql: "INSERT INTO revision(created_at, author, reason) VALUES (?, ?, ?)",
                arguments: [created, author, reason])
            let id = db.lastInsertedRowID
            for file in files {
                try db.execute(
                    sql: "INSERT INTO revision_file(revision_id, path, content) VALUES (?, ?, ?)",
                    arguments: [id, file.path, file.content])
            }
            if activate { try setSetting("active_revision", id, db) }
            return Revision(id: id, createdAt: created, author: author, reason: reason, files: files)
        }
    }

    func activeRevisionID() throws -> Int64? {
        try pool.read { db in try setting("active_revision", db) }
    }

    func setActiveRevision(_ id: Int64) throws {
        try pool.write { db in
            guard try Int64.fetchOne(db, sql: "SELECT id FROM revision WHERE id = ?", arguments: [id]) != nil else {
                throw StoreError.notFound("revision \(id) does not exist")
            }
            try setSetting("active_revision", id, db)
        }
    }

    func revision(_ id: Int64) throws -> Revision? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM revision WHERE id = ?", arguments: [id]) else {
                return nil
            }
            let files = try Row.fetchAll(
                db, sql: "SELECT path, content FROM revision_file WHERE revision_id = ? ORDER BY path", arguments: [id]
            ).map { Revision.File(path: $0["path"], content: $0["content"]) }
            return Revision(id: row["id"], createdAt: row["created_at"], author: row["author"], reason: row["reason"], files: files)
        }
    }

    /// Every revision, newest first, without file contents.
    func revisions(limit: Int) throws -> [(revision: Revision, fileCount: Int)] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT r.*, (SELECT COUNT(*) FROM revision_file f WHERE f.revision_id = r.id) AS file_count
                    FROM revision r ORDER BY id DESC LIMIT ?
                    """, arguments: [limit]
            ).map {
                (Revision(id: $0["id"], createdAt: $0["created_at"], author: $0["author"], reason: $0["reason"], files: []),
                 $0["file_count"])
            }
        }
    }
}
