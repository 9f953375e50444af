package floe.engines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * Iceberg Java (the reference implementation) run against Floe's tables by the engines suite.
 *
 * <p>Usage: {@code java floe.engines.Main '<catalog json>' '<command json>'...}. The catalog JSON
 * names the catalog type and its properties ({@link Catalogs}); each command JSON has an {@code op}
 * and a {@code table} in the catalog's {@code namespace}. Every result is one JSON line on stdout
 * ({@link Out}), so the TypeScript test compares values without parsing logs. Commands run in one
 * JVM one after the other (a JVM start costs more than most commands). Any failure prints an
 * {@code error} line and exits 1.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: Main '<catalog json>' '<command json>'...");
      System.exit(2);
    }
    JsonNode catalogConfig = Out.MAPPER.readTree(args[0]);
    String namespace = catalogConfig.path("namespace").asText("analytics");
    Catalog catalog = Catalogs.build(catalogConfig);
    try {
      for (int i = 1; i < args.length; i++) {
        JsonNode command = Out.MAPPER.readTree(args[i]);
        run(catalog, namespace, command);
      }
    } catch (Exception e) {
      ObjectNode line = Out.line("error");
      line.put("message", e.toString());
      Throwable cause = e.getCause();
      if (cause != null) line.put("cause", cause.toString());
      Out.print(line);
      e.printStackTrace(System.err);
      System.exit(1);
    } finally {
      if (catalog instanceof AutoCloseable closeable) closeable.close();
    }
  }

  private static void run(Catalog catalog, String namespace, JsonNode command) throws Exception {
    String op = command.path("op").asText();
    if (op.equals("list-tables")) {
      ObjectNode line = Out.line("tables");
      ArrayNode names = line.putArray("names");
      for (TableIdentifier id : catalog.listTables(Namespace.of(namespace))) names.add(id.toString());
      Out.print(line);
      return;
    }
    Table table = catalog.loadTable(TableIdentifier.of(namespace, command.path("table").asText()));
    switch (op) {
      case "info" -> Info.run(table);
      case "scan" -> Scan.run(table);
      case "plan" -> Plan.run(table, command);
      case "metrics" -> MetricsCheck.run(table);
      case "append" -> CoWriter.append(table, command);
      case "rewrite-manifests" -> CoWriter.rewriteManifests(table);
      case "expire-snapshots" -> CoWriter.expireSnapshots(table, command);
      default -> throw new IllegalArgumentException("unknown op " + op);
    }
  }
}
