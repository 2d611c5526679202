/// TLS extension code points the reader acts on or names in its messages
/// (IANA "TLS ExtensionType Values", which lists them in decimal, as the
/// messages do).
enum ExtensionType {
    static let serverName: UInt16 = 0
    static let encryptedClientHello: UInt16 = 0xfe0d

    /// "0 (server_name)", or just "2570" for a type without a name here
    /// (GREASE values and anything newer than this table).
    static func describe(_ type: UInt16) -> String {
        guard let name = names[type] else { return "\(type)" }
        return "\(type) (\(name))"
    }

    private static let names: [UInt16: String] = [
        0: "server_name",
        1: "max_fragment_length",
        5: "status_request",
        10: "supported_groups",
        11: "ec_point_formats",
        13: "signature_algorithms",
        15: "heartbeat",
        16: "application_layer_protocol_negotiation",
        18: "signed_certificate_timestamp",
        21: "padding",
        22: "encrypt_then_mac",
        23: "extended_master_secret",
        27: "compress_certificate",
        28: "record_size_limit",
        35: "session_ticket",
        41: "pre_shared_key",
        42: "early_data",
        43: "supported_versions",
        44: "cookie",
        45: "psk_key_exchange_modes",
        49: "post_handshake_auth",
        50: "signature_algorithms_cert",
        51: "key_share",
        17513: "application_settings",
        17613: "application_settings",
        65037: "encrypted_client_hello",
        65281: "renegotiation_info",
    ]
}
