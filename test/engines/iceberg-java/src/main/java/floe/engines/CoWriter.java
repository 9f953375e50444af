package floe.engines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Types;

/**
 * Java as a second writer in Floe's table, with the core API only: appends data files written by
 * Iceberg's generic Parquet writer, rewrites the manifests, expires snapshots. Each commit uses
 * Java's own optimistic retry (commit.retry.*), so a Floe commit in between is a retried conflict,
 * never a failure.
 */
final class CoWriter {
  private CoWriter() {}

  /** {@code rows}: Floe-shaped rows (timestamps in epoch microseconds), one file per partition. */
  static void append(Table table, JsonNode command) throws Exception {
    Schema schema = table.schema();
    InternalRecordWrapper wrapper = new InternalRecordWrapper(schema.asStruct());
    Map<PartitionKey, List<Record>> byPartition = new LinkedHashMap<>();
    for (JsonNode row : command.path("rows")) {
      Record record = toRecord(schema, row);
      PartitionKey key = new PartitionKey(table.spec(), schema);
      key.partition(wrapper.wrap(record));
      byPartition.computeIfAbsent(key, k -> new ArrayList<>()).add(record);
    }
    AppendFiles append = table.newAppend();
    append.set("engine", "iceberg-java-test");
    ObjectNode line = Out.line("appended");
    line.put("table", table.name());
    ArrayNode files = line.putArray("files");
    for (Map.Entry<PartitionKey, List<Record>> e : byPartition.entrySet()) {
      String name = "java-" + UUID.randomUUID() + ".parquet";
      OutputFile out =
          table.io().newOutputFile(table.locationProvider().newDataLocation(table.spec(), e.getKey(), name));
      DataWriter<Record> writer =
          Parquet.writeData(out)
              .schema(schema)
              .createWriterFunc(GenericParquetWriter::create)
              .withSpec(table.spec())
              .withPartition(e.getKey())
              .overwrite()
              .build();
      try (writer) {
        for (Record r : e.getValue()) writer.write(r);
      }
      DataFile file = writer.toDataFile();
      if (file.format() != FileFormat.PARQUET) throw new IllegalStateException("not parquet");
      append.appendFile(file);
      files.add(file.location());
    }
    append.commit();
    table.refresh();
    line.put("snapshotId", table.currentSnapshot().snapshotId());
    Out.print(line);
  }

  static void rewriteManifests(Table table) {
    int before = table.currentSnapshot().allManifests(table.io()).size();
    // One cluster: every data manifest is rewritten into as few manifests as the target size allows.
    table.rewriteManifests().clusterBy(file -> "all").commit();
    table.refresh();
    ObjectNode line = Out.line("rewritten");
    line.put("table", table.name());
    line.put("manifestsBefore", before);
    line.put("manifestsAfter", table.currentSnapshot().allManifests(table.io()).size());
    line.put("snapshotId", table.currentSnapshot().snapshotId());
    line.put("operation", table.currentSnapshot().operation());
    Out.print(line);
  }

  /** Expires every snapshot but the newest {@code retainLast} (default 1), deleting unreachable files. */
  static void expireSnapshots(Table table, JsonNode command) {
    int before = size(table.snapshots());
    List<String> deleted = new ArrayList<>();
    table
        .expireSnapshots()
        .expireOlderThan(System.currentTimeMillis() + 1)
        .retainLast(command.path("retainLast").asInt(1))
        .deleteWith(
            path -> {
              deleted.add(path);
              table.io().deleteFile(path);
            })
        .commit();
    table.refresh();
    ObjectNode line = Out.line("expired");
    line.put("table", table.name());
    line.put("snapshotsBefore", before);
    line.put("snapshotsAfter", size(table.snapshots()));
    ArrayNode files = line.putArray("deleted");
    deleted.forEach(files::add);
    Out.print(line);
  }

  private static int size(Iterable<?> it) {
    int n = 0;
    for (Object ignored : it) n++;
    return n;
  }

  private static Record toRecord(Schema schema, JsonNode row) {
    GenericRecord record = GenericRecord.create(schema);
    for (Types.NestedField f : schema.columns()) {
      JsonNode v = row.get(f.name());
      if (v == null || v.isNull()) continue;
      record.setField(f.name(), value(f.type(), v));
    }
    return record;
  }

  private static Object value(org.apache.iceberg.types.Type type, JsonNode v) {
    switch (type.typeId()) {
      case STRING:
        return v.asText();
      case INTEGER:
        return v.asInt();
      case LONG:
        return v.asLong();
      case BOOLEAN:
        return v.asBoolean();
      case DOUBLE:
        return v.asDouble();
      case TIMESTAMP:
        {
          long micros = v.asLong();
          Instant t = Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
          OffsetDateTime odt = t.atOffset(ZoneOffset.UTC);
          return ((Types.TimestampType) type).shouldAdjustToUTC() ? odt : odt.toLocalDateTime();
        }
      case MAP:
        {
          Map<String, String> m = new LinkedHashMap<>();
          Iterator<Map.Entry<String, JsonNode>> it = v.fields();
          while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            m.put(e.getKey(), e.getValue().isNull() ? null : e.getValue().asText());
          }
          return m;
        }
      default:
        throw new IllegalArgumentException("unsupported type " + type);
    }
  }
}
