// A SQL runner for Spark (local[2]) driven over stdin/stdout by test/engines/spark.test.ts.
//
// Arguments: Spark settings as key=value. Then each stdin line is one SQL statement, Base64
// (UTF-8) encoded so statements may span lines; each answer is one stdout line: `OK <rows as a
// JSON array>` or `ERR <error>`. Spark's own logging goes to stderr (System.out is redirected
// there too, so nothing else can land in the answers). Started as a single-file source program
// (`java -cp <classpath> SqlDriver.java`): no build step.
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.apache.spark.sql.SparkSession;

public class SqlDriver {
  public static void main(String[] args) throws Exception {
    PrintStream answers = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err);
    SparkSession.Builder builder = SparkSession.builder().master("local[2]").appName("floe-engines");
    for (String arg : args) {
      int eq = arg.indexOf('=');
      builder = builder.config(arg.substring(0, eq), arg.substring(eq + 1));
    }
    SparkSession spark = builder.getOrCreate();
    answers.println("READY " + spark.version());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      String sql = new String(Base64.getDecoder().decode(line.trim()), StandardCharsets.UTF_8);
      try {
        List<String> rows = spark.sql(sql).toJSON().collectAsList();
        answers.println("OK [" + String.join(",", rows) + "]");
      } catch (Throwable t) {
        t.printStackTrace();
        answers.println("ERR " + String.valueOf(t).replace('\n', ' ').replace('\r', ' '));
      }
    }
    spark.stop();
  }
}
