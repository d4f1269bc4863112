import AirgapBundle
import ArgumentParser
import Foundation

struct Extract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take one chart, JAR or image out of a bundle: a chart folder, a JAR file, or an OCI layout.",
        discussion: HelpText.discussion("""
        A chart is unpacked into DIR/<name>/ (as helm pull --untar; a folder of the same chart there is replaced \
        whole), a JAR is written to DIR/<file name>, an image becomes an OCI layout at DIR (added to it when DIR \
        already is one) that skopeo (oci:DIR:REF), umoci and oci-image-tool read. Every byte is checked against \
        its digest on the way; nothing is written outside DIR, and no file appears half-written.
        """, examples: [
            ("The chart, unpacked as helm pull --untar would", "airgap extract bundle.tar flink-cdc -o charts/"),
            ("One connector JAR", "airgap extract bundle.tar org.apache.flink:flink-sql-connector-kafka:1.17.1 -o jars/"),
            ("An image as an OCI layout skopeo reads", "airgap extract bundle.tar docker.io/library/flink:1.17.1 -o flink-layout && skopeo inspect oci:flink-layout:docker.io/library/flink:1.17.1"),
        ]))

    @Argument(help: "The bundle tarball.")
    var bundle: String

    @Argument(help: ArgumentHelp("What to take: a reference as `airgap inspect` lists it, an image reference, Maven coordinates, a chart name or a JAR file name.", valueName: "REF"))
    var reference: String

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Where to write.", valueName: "DIR"))
    var output: String

    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let summary = try await Extractor().extract(bundle, reference: reference, to: output)
        if outputOptions.json { return try outputOptions.printJSON(summary) }
        switch summary.kind {
        case .chart:
            outputOptions.say("chart \(summary.reference) -> \(summary.output)/ (\(summary.files) files, archive \(summary.digest))")
        case .jar:
            outputOptions.say("jar \(summary.reference) -> \(summary.output) (sha256 \(summary.digest.dropFirst("sha256:".count)))")
        case .image, .signature:
            outputOptions.say("\(summary.kind.rawValue) \(summary.reference) -> OCI layout \(summary.output) (\(summary.files) files written); read it as oci:\(summary.output):\(summary.layoutReference ?? summary.reference)")
        }
    }
}
