import java.io.InputStream;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts DynamoDB Local listening on 127.0.0.1 only, and ends it when its parent goes away.
 *
 * DynamoDB Local has no bind-address option: its DynamoDBProxyServer builds a Jetty server whose
 * connector listens on every interface. This launcher (run by `java` in source-file mode, so no
 * build step) creates the server from the usual command line, sets the host of each connector to
 * the loopback address before start, and refuses to start if it finds no connector to restrict.
 *
 * Watchdog: the parent (the Runplane platform) holds the write end of this process's stdin. When
 * the parent dies, even by SIGKILL, the read returns end-of-file and the JVM halts at once, so
 * DynamoDB Local never outlives its platform nor keeps holding the data directory.
 */
public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    int restricted = 0;
    for (Connector connector : jetty.getConnectors()) {
      if (!(connector instanceof ServerConnector)) {
        throw new IllegalStateException("unexpected connector " + connector.getClass().getName() + ": refusing to listen on every interface");
      }
      ((ServerConnector) connector).setHost("127.0.0.1");
      restricted++;
    }
    if (restricted == 0) throw new IllegalStateException("no connector found: refusing to start");

    Thread watchdog = new Thread(() -> {
      try {
        InputStream in = System.in;
        byte[] buffer = new byte[64];
        while (in.read(buffer) >= 0) {
          // The parent writes nothing; any bytes are ignored.
        }
      } catch (Exception ignored) {
        // A broken pipe means the same as end-of-file.
      }
      Runtime.getRuntime().halt(0);
    }, "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();

    proxy.start();
    System.out.println("runplane: DynamoDB Local listening on 127.0.0.1");
    proxy.join();
  }
}
