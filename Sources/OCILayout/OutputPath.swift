import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file a command is about to write, checked before any work starts: a run that downloads
/// gigabytes must not fail at its final rename because `-o` named a folder or a folder that
/// does not exist, and the message names the path the operator gave, not a temporary file.
public enum OutputPath {
    public static func checkWritable(_ path: String, option: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw OutputPathError.isDirectory(option: option, path: path)
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) else {
            throw OutputPathError.missingFolder(option: option, path: path, folder: parent)
        }
        guard isDirectory.boolValue else { throw OutputPathError.missingFolder(option: option, path: path, folder: parent) }
        guard access(parent, W_OK) == 0 else { throw OutputPathError.notWritable(option: option, path: path, folder: parent) }
    }
}

public enum OutputPathError: Error, CustomStringConvertible {
    case isDirectory(option: String, path: String)
    case missingFolder(option: String, path: String, folder: String)
    case notWritable(option: String, path: String, folder: String)

    public var description: String {
        switch self {
        case .isDirectory(let option, let path):
            return "\(option) \(path): is a folder; name the file to write, e.g. \(option) \(path.hasSuffix("/") ? path : path + "/")bundle.tar"
        case .missingFolder(let option, let path, let folder):
            return "\(option) \(path): the folder \(folder) does not exist; create it (mkdir -p \(folder)) or choose another path"
        case .notWritable(let option, let path, let folder):
            return "\(option) \(path): the folder \(folder) is not writable by this user; choose another path"
        }
    }
}
