/// A problem with `airgap.yaml` or a command-line setting, naming the file, the key and the fix.
public enum SpecError: Error, CustomStringConvertible {
    case unreadable(path: String, detail: String)
    case invalid(path: String, key: String, problem: String)
    case invalidMirror(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let detail):
            return "\(path): \(detail)"
        case .invalid(let path, let key, let problem):
            return "\(path): \(key): \(problem)"
        case .invalidMirror(let text):
            return "--mirror \(text): expected REGISTRY=URL, e.g. docker.io=http://127.0.0.1:5000"
        }
    }
}
