/// Errors from reading and writing layouts, tarballs and the blob cache. Each names a path.
public enum LayoutError: Error, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)
    case archive(path: String, message: String)
    case digestMismatch(path: String, expected: String, actual: String)
    case sizeMismatch(path: String, expected: Int64, actual: Int64)
    case missingBlob(String)

    public var description: String {
        switch self {
        case .io(let path, let operation, let code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case .archive(let path, let message):
            return "\(path): \(message)"
        case .digestMismatch(let path, let expected, let actual):
            return "\(path): content hashes to \(actual), expected \(expected)"
        case .sizeMismatch(let path, let expected, let actual):
            return "\(path): \(actual) bytes, expected \(expected)"
        case .missingBlob(let digest):
            return "blob \(digest) is not in the cache"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
