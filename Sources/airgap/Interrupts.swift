import Dispatch
import Foundation
import OCILayout

/// SIGINT and SIGTERM remove what the run was writing (temporary tarballs, checksum files,
/// JARs, cache ingests) and exit 130/143, as a shell expects: nothing half-written survives a
/// Ctrl-C. The handler runs on a queue, not in signal context, so it may take locks and unlink.
enum Interrupts {
    private nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: DispatchQueue(label: "airgap.signal"))
            source.setEventHandler {
                WorkInProgress.shared.removeAll()
                // A progress line being redrawn on a terminal is cleared first.
                let clear = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""
                FileHandle.standardError.write(Data("\(clear)airgap: interrupted; removed what this run was writing\n".utf8))
                Foundation.exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}
