package floe.engines;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.Metrics;
import org.apache.iceberg.MetricsConfig;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.parquet.ParquetUtil;
import org.apache.iceberg.types.Conversions;
import org.apache.iceberg.types.Type;

/**
 * For every live data file of the current snapshot, the metrics its manifest entry carries against
 * what Java computes from the same Parquet footer under the table's metrics config
 * ({@code ParquetUtil.fileMetrics(file, MetricsConfig.forTable(table))}, what Java's own writers
 * put in a manifest). Prints one {@code metrics} line per file with every difference (none when
 * the manifest is what Java would have written).
 */
final class MetricsCheck {
  private MetricsCheck() {}

  static void run(Table table) throws Exception {
    Snapshot current = table.currentSnapshot();
    if (current == null) return;
    MetricsConfig config = MetricsConfig.forTable(table);
    Schema schema = table.schema();
    for (ManifestFile manifest : current.dataManifests(table.io())) {
      try (ManifestReader<DataFile> reader = ManifestFiles.read(manifest, table.io(), table.specs())) {
        for (DataFile file : reader) {
          Metrics java = ParquetUtil.fileMetrics(table.io().newInputFile(file.location()), config);
          ObjectNode line = Out.line("metrics");
          line.put("table", table.name());
          line.put("path", file.location());
          line.put("columns", file.columnSizes() == null ? 0 : file.columnSizes().size());
          ArrayNode diffs = line.putArray("diffs");
          if (!Objects.equals(file.recordCount(), java.recordCount())) {
            diff(diffs, "record_count", null, file.recordCount(), java.recordCount());
          }
          long length = table.io().newInputFile(file.location()).getLength();
          if (file.fileSizeInBytes() != length) diff(diffs, "file_size_in_bytes", null, file.fileSizeInBytes(), length);
          counts(diffs, "column_sizes", file.columnSizes(), java.columnSizes());
          counts(diffs, "value_counts", file.valueCounts(), java.valueCounts());
          counts(diffs, "null_value_counts", file.nullValueCounts(), java.nullValueCounts());
          nanCounts(diffs, file, java);
          bounds(diffs, "lower_bounds", schema, file.lowerBounds(), java.lowerBounds());
          bounds(diffs, "upper_bounds", schema, file.upperBounds(), java.upperBounds());
          Out.print(line);
        }
      }
    }
  }

  /**
   * NaN counts: Java's writers count NaNs while writing; a footer holds no NaN count, so
   * {@code fileMetrics} has none for files it did not write. Where Java has one, it must equal the
   * manifest's. Where it has none, the manifest's count is checked against what the footer does
   * prove: it can never exceed the column's non-null values, so a column of only nulls (as
   * {@code sample_rate} of tracker events) must say 0.
   */
  private static void nanCounts(ArrayNode diffs, DataFile file, Metrics java) {
    Map<Integer, Long> javaNans = orEmpty(java.nanValueCounts());
    Map<Integer, Long> manifestNans = orEmpty(file.nanValueCounts());
    TreeSet<Integer> ids = new TreeSet<>(manifestNans.keySet());
    ids.addAll(javaNans.keySet());
    for (Integer id : ids) {
      Long a = manifestNans.get(id);
      Long b = javaNans.get(id);
      if (b != null || a == null) {
        if (!Objects.equals(a, b)) diff(diffs, "nan_value_counts", id, a, b);
        continue;
      }
      Long values = orEmpty(java.valueCounts()).get(id);
      Long nulls = orEmpty(java.nullValueCounts()).get(id);
      if (values == null || nulls == null) continue;
      long nonNull = values - nulls;
      if (a < 0 || a > nonNull || (nonNull == 0 && a != 0)) diff(diffs, "nan_value_counts", id, a, nonNull);
    }
  }

  private static <T> Map<Integer, T> orEmpty(Map<Integer, T> m) {
    return m == null ? Map.of() : m;
  }

  private static void counts(ArrayNode diffs, String metric, Map<Integer, Long> manifest, Map<Integer, Long> java) {
    TreeSet<Integer> ids = new TreeSet<>(orEmpty(manifest).keySet());
    ids.addAll(orEmpty(java).keySet());
    for (Integer id : ids) {
      Long a = orEmpty(manifest).get(id);
      Long b = orEmpty(java).get(id);
      if (!Objects.equals(a, b)) diff(diffs, metric, id, a, b);
    }
  }

  private static void bounds(
      ArrayNode diffs, String metric, Schema schema, Map<Integer, ByteBuffer> manifest, Map<Integer, ByteBuffer> java) {
    TreeSet<Integer> ids = new TreeSet<>(orEmpty(manifest).keySet());
    ids.addAll(orEmpty(java).keySet());
    for (Integer id : ids) {
      ByteBuffer a = orEmpty(manifest).get(id);
      ByteBuffer b = orEmpty(java).get(id);
      if (!Objects.equals(a, b)) diff(diffs, metric, id, show(schema, id, a), show(schema, id, b));
    }
  }

  /** A bound as its value and its bytes, e.g. {@code "/p/ü (2f702fc3bc)"}. */
  private static String show(Schema schema, int id, ByteBuffer buf) {
    if (buf == null) return null;
    StringBuilder hex = new StringBuilder();
    ByteBuffer dup = buf.duplicate();
    while (dup.hasRemaining()) hex.append(String.format("%02x", dup.get()));
    Type type = schema.findType(id);
    Object value = type == null ? "?" : Conversions.fromByteBuffer(type, buf.duplicate());
    return value + " (" + hex + ")";
  }

  private static void diff(ArrayNode diffs, String metric, Integer fieldId, Object manifest, Object java) {
    ObjectNode d = diffs.addObject();
    d.put("metric", metric);
    if (fieldId != null) d.put("field", fieldId);
    d.put("manifest", manifest == null ? null : manifest.toString());
    d.put("java", java == null ? null : java.toString());
  }
}
