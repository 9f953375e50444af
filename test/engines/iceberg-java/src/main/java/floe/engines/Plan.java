package floe.engines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDate;
import java.time.ZoneOffset;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableScan;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;

/**
 * {@code planFiles()} with a row filter: {@code day} (one UTC day of the {@code column} timestamp,
 * as {@code >= start AND < next day}) and/or {@code site} ({@code site_id = ...}). Prints the data
 * files Java would read: the manifests' partition values (and column bounds) decide this pruning.
 */
final class Plan {
  private Plan() {}

  static void run(Table table, JsonNode command) throws Exception {
    Expression filter = Expressions.alwaysTrue();
    if (command.hasNonNull("day")) {
      String column = command.path("column").asText("event_time");
      LocalDate day = LocalDate.parse(command.get("day").asText());
      String start = day.atStartOfDay().atOffset(ZoneOffset.UTC).toString();
      String end = day.plusDays(1).atStartOfDay().atOffset(ZoneOffset.UTC).toString();
      filter =
          Expressions.and(
              filter,
              Expressions.and(Expressions.greaterThanOrEqual(column, start), Expressions.lessThan(column, end)));
    }
    if (command.hasNonNull("site")) {
      filter = Expressions.and(filter, Expressions.equal("site_id", command.get("site").asText()));
    }
    TableScan scan = table.newScan().filter(filter);
    ObjectNode line = Out.line("plan");
    line.put("table", table.name());
    line.put("filter", filter.toString());
    ArrayNode files = line.putArray("files");
    long records = 0;
    try (CloseableIterable<FileScanTask> tasks = scan.planFiles()) {
      for (FileScanTask task : tasks) {
        ObjectNode f = files.addObject();
        f.put("path", task.file().location());
        f.put("partition", task.file().partition().toString());
        f.put("records", task.file().recordCount());
        records += task.file().recordCount();
      }
    }
    line.put("count", files.size());
    line.put("records", records);
    Out.print(line);
  }
}
