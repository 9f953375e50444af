package floe.engines;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** JSON lines on stdout: the only channel the TypeScript side reads (logs go to stderr). */
final class Out {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private Out() {}

  static ObjectNode line(String kind) {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("kind", kind);
    return node;
  }

  static synchronized void print(ObjectNode line) {
    try {
      System.out.println(MAPPER.writeValueAsString(line));
      System.out.flush();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
