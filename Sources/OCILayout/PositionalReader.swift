import Foundation

/// Something read by position: one file, or the parts of a split bundle read as one. The
/// chunked read below is written once for both.
public protocol PositionalReader {
    var path: String { get }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
}

extension PositionalReader {
    /// Calls `body` with successive chunks of `length` bytes from `offset`, read in place.
    public func forEachChunk(offset: Int64, length: Int64, bufferSize: Int = 1 << 20,
                             _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        var position = offset
        let end = offset + length
        while position < end {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, Int(end - position))]), at: position)
            guard count > 0 else { throw LayoutError.io(path: path, operation: "read at \(position)", errno: EIO) }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            position += Int64(count)
        }
    }
}
