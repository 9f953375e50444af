package floe.engines;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;

/**
 * Builds the catalog under test from {@code {"type": "jdbc"|"rest"|"hadoop", "name": ..., "properties":
 * {...}}} with Iceberg's own {@link CatalogUtil#buildIcebergCatalog}, exactly as engines configure
 * it: the JDBC catalog's {@code name} is the {@code catalog_name} of its rows (Floe's
 * ICEBERG_CATALOG_NAME). No FileIO is configured: JdbcCatalog and HadoopCatalog default to
 * HadoopFileIO, RESTCatalog to ResolvingFileIO, which read {@code file://} paths through Hadoop's
 * local file system.
 */
final class Catalogs {
  private Catalogs() {}

  static Catalog build(JsonNode config) {
    Map<String, String> props = new HashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = config.path("properties").fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      props.put(e.getKey(), e.getValue().asText());
    }
    props.put(CatalogUtil.ICEBERG_CATALOG_TYPE, config.path("type").asText());
    return CatalogUtil.buildIcebergCatalog(config.path("name").asText("floe"), props, new Configuration());
  }
}
