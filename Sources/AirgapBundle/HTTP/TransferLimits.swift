import Foundation

/// How much and how long any one transfer may take: every server airgap talks to is outside
/// its control, and a hostile or broken one must not be able to make it wait or read forever.
public struct TransferLimits: Sendable {
    /// The whole transfer (one document, blob, JAR or chart, every retry included): `--timeout`.
    public var timeout: Double
    public var connectTimeout: Double
    /// Below this many bytes per second for `lowSpeedSeconds`, the peer has stalled.
    public var lowSpeedBytesPerSecond: Int
    public var lowSpeedSeconds: Int
    /// The part of an error or redirect body kept for the message; the rest is not read.
    public var errorBodyLimit: Int

    public static let defaultTimeout: Double = 1800

    public init(timeout: Double = TransferLimits.defaultTimeout, connectTimeout: Double = 30, lowSpeedBytesPerSecond: Int = 1024,
                lowSpeedSeconds: Int = 30, errorBodyLimit: Int = 64 * 1024) {
        self.timeout = timeout
        self.connectTimeout = min(connectTimeout, timeout)
        self.lowSpeedBytesPerSecond = lowSpeedBytesPerSecond
        // A stall is noticed well within the deadline (a quarter of it), so the one retry a
        // stall gets still fits.
        self.lowSpeedSeconds = max(1, min(lowSpeedSeconds, Int((timeout / 4).rounded(.down))))
        self.errorBodyLimit = errorBodyLimit
    }

    /// Bodies kept in memory: more than this is not what was asked for.
    public static let manifestLimit = 4 << 20
    public static let tokenLimit = 1 << 20
    public static let checksumLimit = 64 * 1024
    public static let helmIndexLimit = 64 << 20
    /// Downloads whose size nobody declared: a JAR (the largest Flink ships is ~130 MB) and a
    /// chart archive (Helm itself refuses charts over 100 MiB).
    public static let jarLimit: Int64 = 1 << 30
    public static let chartLimit: Int64 = 100 << 20
}
