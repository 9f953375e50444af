package floe.engines;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;

/**
 * A full scan with {@link IcebergGenerics}: one {@code row} line per record, columns by name.
 * Timestamps become epoch microseconds (Floe's row representation), maps JSON objects, so the
 * TypeScript test compares values exactly.
 */
final class Scan {
  private Scan() {}

  static void run(Table table) throws Exception {
    long count = 0;
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
      for (Record r : rows) {
        ObjectNode line = Out.line("row");
        line.put("table", table.name());
        ObjectNode values = line.putObject("row");
        for (Types.NestedField f : table.schema().columns()) put(values, f.name(), r.getField(f.name()));
        Out.print(line);
        count++;
      }
    }
    ObjectNode done = Out.line("scanned");
    done.put("table", table.name());
    done.put("rows", count);
    Out.print(done);
  }

  static void put(ObjectNode node, String name, Object v) {
    if (v == null) node.putNull(name);
    else if (v instanceof CharSequence s) node.put(name, s.toString());
    else if (v instanceof Integer i) node.put(name, i);
    else if (v instanceof Long l) node.put(name, l);
    else if (v instanceof Boolean b) node.put(name, b);
    else if (v instanceof Double d) node.put(name, d);
    else if (v instanceof Float f) node.put(name, f);
    else if (v instanceof OffsetDateTime t) node.put(name, micros(t.toInstant().atOffset(ZoneOffset.UTC).toLocalDateTime()));
    else if (v instanceof LocalDateTime t) node.put(name, micros(t));
    else if (v instanceof LocalDate d) node.put(name, d.toEpochDay());
    else if (v instanceof Map<?, ?> m) {
      ObjectNode obj = node.putObject(name);
      for (Map.Entry<?, ?> e : m.entrySet()) put(obj, e.getKey().toString(), e.getValue());
    } else node.put(name, v.toString());
  }

  private static long micros(LocalDateTime t) {
    return ChronoUnit.MICROS.between(LocalDateTime.of(1970, 1, 1, 0, 0), t);
  }
}
