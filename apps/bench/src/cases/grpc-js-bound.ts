/**
 * Upper bound for B4 with a grpc-js reader: a Subscribe server that costs nothing. Every response is
 * encoded once, in memory, before the read starts (the messages our broker sends for plain NATS
 * publishes: offset, value, timestamp, stream, subject, and the `subject` header), and each call sends
 * them all from memory in framed batches. Whatever rate a grpc-js reader gets from it is the most any
 * server can give that reader on this machine: the rest is the reader's own CPU and HTTP/2 round trips.
 */
import { APIService, Message } from "@liftbridge/api";
import {
  createServer,
  MESSAGE_PREFIX_BYTES,
  type ServerWritableCall,
  writeMessagePrefix,
} from "@liftbridge/grpc";
import { runReader } from "../run-worker.js";
import type { CaseParams, CaseResult } from "./jetstream.js";

/** The whole stream as framed batches of about `batchBytes`, the empty first message in front. */
function encodeStream(stream: string, count: number, size: number, batchBytes: number): Buffer[] {
  const subject = `bench.bound.${stream}`;
  const value = Buffer.alloc(size, 0x61);
  const headers = new Map([["subject", Buffer.from(subject)]]);
  const ts = BigInt(Date.now()) * 1_000_000n;
  const batches: Buffer[] = [];
  let parts: Buffer[] = [frame(Message.encode({}))];
  let bytes = parts[0]!.length;
  for (let i = 0; i < count; i++) {
    const f = frame(Message.encode({ offset: i, value, timestamp: ts, stream, subject, headers }));
    parts.push(f);
    bytes += f.length;
    if (bytes >= batchBytes) {
      batches.push(Buffer.concat(parts));
      parts = [];
      bytes = 0;
    }
  }
  if (parts.length > 0) batches.push(Buffer.concat(parts));
  return batches;
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES + payload.length);
  writeMessagePrefix(out, 0, payload.length);
  payload.copy(out, MESSAGE_PREFIX_BYTES);
  return out;
}

/** B4 bound: a grpc-js reader (default options, or 1 MiB windows) against the in-memory server. */
export function grpcJsReaderBound(window: "default" | "1mib") {
  return async (p: CaseParams): Promise<CaseResult> => {
    const stream = `bound_${p.rep}`;
    // Batches as the broker sizes them for a grpc-js client: twice its stream window.
    const batches = encodeStream(stream, p.count, p.size, window === "default" ? 128 << 10 : 1 << 20);
    const server = createServer();
    server.addService({ Subscribe: APIService.Subscribe }, {
      async Subscribe(_req: unknown, call: ServerWritableCall<unknown>) {
        for (const b of batches) {
          if (call.signal.aborted) return;
          if (!call.sendFramed(b)) await call.drain(b.length);
        }
        await new Promise((r) => call.signal.addEventListener("abort", r, { once: true }));
      },
    } as never);
    const port = await server.listen(0, "127.0.0.1");
    try {
      const mode = window === "default" ? "lb-grpc-js" : "lb-grpc-js-1mib";
      const r = await runReader({ mode, grpcPort: port, stream, count: p.count, size: p.size });
      return { msgsPerSec: (p.count * 1000) / r.elapsedMs, serverCpuUsPerMsg: 0 };
    } finally {
      await server.close({ graceMs: 100 });
    }
  };
}
