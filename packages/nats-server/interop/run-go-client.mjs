// `pnpm interop:go`: builds a small program with the official Go client (Debian packages golang-go and
// golang-github-nats-io-go-nats-dev, GOPATH mode, no network) and runs it against the embedded server
// and Debian's nats-server; both must print the same transcript.
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startNatsServer } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const NATS_SERVER_BIN =
  process.env.NATS_SERVER_BIN ??
  ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ??
  "nats-server";

const run = async (bin, url) => (await promisify(execFile)(bin, [url], { timeout: 60_000 })).stdout;
const work = mkdtempSync(join(tmpdir(), "go-interop-"));
try {
  const bin = join(work, "interop");
  execFileSync("go", ["build", "-o", bin, "."], {
    cwd: join(here, "go-client"),
    env: {
      ...process.env,
      GOPATH: `/usr/share/gocode:${work}`,
      GO111MODULE: "off",
      GOCACHE: join(work, "cache"),
    },
    stdio: "inherit",
  });

  const embedded = await startNatsServer({ port: 0 });
  // The embedded server lives in this process: run the client asynchronously.
  const ours = await run(bin, embedded.url);
  await embedded.close();

  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(NATS_SERVER_BIN, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  let theirs;
  try {
    theirs = await run(bin, `nats://127.0.0.1:${port}`);
  } finally {
    child.kill();
  }
  console.log(`embedded:\n${ours}\nnats-server:\n${theirs}`);
  if (ours !== theirs || !ours.endsWith("OK\n")) {
    console.error("transcripts differ");
    process.exitCode = 1;
  } else {
    console.log("Go client: same transcript on both servers");
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
