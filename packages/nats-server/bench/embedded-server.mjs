// Runs the embedded server in its own process for the benchmark; reports its port and CPU time over IPC.
import { startNatsServer } from "../dist/index.js";

const server = await startNatsServer({ port: 0 });
process.send?.({ port: server.port });
process.on("message", async (m) => {
  if (m === "cpu") {
    const u = process.cpuUsage();
    process.send?.({ cpuMicros: u.user + u.system });
  } else if (m === "stop") {
    await server.close();
    process.exit(0);
  }
});
