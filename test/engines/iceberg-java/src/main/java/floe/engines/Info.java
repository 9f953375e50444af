package floe.engines;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;

/** What Java loaded: location, format version, schema ids, spec, snapshots with their summaries. */
final class Info {
  private Info() {}

  static void run(Table table) {
    ObjectNode line = Out.line("info");
    line.put("table", table.name());
    line.put("location", table.location());
    line.put("schema", org.apache.iceberg.SchemaParser.toJson(table.schema()));
    line.put("spec", org.apache.iceberg.PartitionSpecParser.toJson(table.spec()));
    Snapshot current = table.currentSnapshot();
    if (current != null) line.put("currentSnapshotId", current.snapshotId());
    ArrayNode snapshots = line.putArray("snapshots");
    for (Snapshot s : table.snapshots()) {
      ObjectNode node = snapshots.addObject();
      node.put("id", s.snapshotId());
      node.put("operation", s.operation());
      node.set("summary", Out.MAPPER.valueToTree(s.summary()));
    }
    Out.print(line);
  }
}
