import net from "node:net";

/** A raw TCP client that records everything the server sends. */
export interface RawClient {
  readonly socket: net.Socket;
  /** Everything received so far (latin1), INFO line included. */
  readonly data: string;
  /** Received bytes after the INFO line. */
  readonly afterInfo: string;
  readonly closed: boolean;
  send(s: string | Buffer): Promise<void>;
  /** Resolves once `pred(afterInfo)` holds or the socket closed; rejects at the deadline. */
  until(pred: (data: string) => boolean, deadlineMs?: number): Promise<void>;
  close(): void;
}

export async function rawConnect(port: number): Promise<RawClient> {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  let data = "";
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  socket.on("data", (d: Buffer) => {
    data += d.toString("latin1");
    wake();
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    closed = true;
    wake();
  });
  const c: RawClient = {
    socket,
    get data() {
      return data;
    },
    get afterInfo() {
      const nl = data.indexOf("\r\n");
      return data.startsWith("INFO ") && nl !== -1 ? data.slice(nl + 2) : data;
    },
    get closed() {
      return closed;
    },
    send: (s) =>
      new Promise((resolve) => {
        if (closed || socket.destroyed) resolve();
        else socket.write(s, () => resolve());
      }),
    until(pred, deadlineMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (closed || pred(c.afterInfo)) {
            clearTimeout(t);
            waiters.delete(check);
            resolve();
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`deadline; got ${JSON.stringify(c.afterInfo)}`));
        }, deadlineMs);
        waiters.add(check);
        check();
      });
    },
    close: () => socket.destroy(),
  };
  await c.until((d) => d.length > 0 || data.startsWith("INFO "), 5000);
  await c.until(() => data.includes("\r\n"), 5000);
  return c;
}

/** Sends `input` followed by PING and returns what came back once PONG arrived or the server closed. */
export async function exchange(port: number, input: string): Promise<{ out: string; closed: boolean }> {
  const c = await rawConnect(port);
  await c.send(input);
  await c.send("PING\r\n");
  await c.until((d) => d.endsWith("PONG\r\n"));
  // A close may follow the last bytes; give a closing server the chance to finish.
  if (!c.closed) await c.until(() => false, 50).catch(() => {});
  const res = { out: c.afterInfo, closed: c.closed };
  c.close();
  return res;
}
