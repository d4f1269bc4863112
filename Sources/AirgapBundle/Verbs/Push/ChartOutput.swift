import Foundation
import Manifests
import OCILayout

/// Step 4 with `--chart-out DIR`: the chart the bundle carries becomes `DIR/<name>/`, checked
/// against its digest and unpacked safely (`ChartUnpacker`), with files/libs and
/// values-airgap.yaml written into the staged copy before it appears, so the enclave needs no
/// source checkout. Found and checked before any write: one chart in the bundle, and a
/// destination that is absent or the same chart (what an earlier push left there).
struct ChartOutput {
    let item: BundleItem
    let unpacker: ChartUnpacker
    let parent: String

    var destination: String { "\(parent)/\(unpacker.chartName)" }

    init(bundle: BundleReader, parent: String) throws {
        let charts = bundle.items.filter { $0.kind == .chart }
        guard charts.count == 1, let item = charts.first else {
            throw PushError.chartOut(bundle: bundle.path, charts: charts.map(\.reference))
        }
        let (_, layer) = try Extractor.artifactLayer(item, top: item.descriptor, layout: bundle, mediaType: MediaType.helmChartContent)
        let name = try Extractor.chartName(item, layer: layer, lock: bundle.lock)
        self.item = item
        self.parent = parent
        self.unpacker = ChartUnpacker(source: try bundle.source(for: layer), chartName: name, label: item.reference)
        try ChartUnpacker.checkReplaceable(destination, chartName: name)
    }

    var plan: PushPlanReport.File {
        PushPlanReport.File(action: .unpack, path: destination, bytes: item.bytes, digest: item.descriptor.digest.description, reference: item.reference)
    }

    /// Unpacks, lets `fill` write into the staged folder, then puts it in place. Paths `fill`
    /// reports under the staged folder are given back under the destination.
    func write(fill: (String) throws -> ChartDirectoryWriter.Result) throws -> ChartDirectoryWriter.Result {
        var result = ChartDirectoryWriter.Result()
        var staged = ""
        try unpacker.unpack(into: parent) { folder in
            staged = folder
            result = try fill(folder)
        }
        result.files = result.files.map { $0.hasPrefix(staged) ? destination + $0.dropFirst(staged.count) : $0 }
        return result
    }
}
