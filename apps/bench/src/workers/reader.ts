/**
 * Reader process (B4): reads a stream from the start in a child process of its own (`runReader`), as a
 * consumer would. On the bench's main thread a reader inherited the garbage of whatever ran before it
 * (the previous contender's 200 MB of reads): that cost our lean reader a third of its rate at 1 KiB,
 * in garbage collection, depending on the order of the contenders. A process of its own is what a
 * real consumer has (a worker thread would also give a fresh heap).
 *
 * A fresh process also starts with cold code. So that no contender is timed while its client warms up
 * (the bench's main thread used to be warm for some readers and cold for others), each reader first
 * reads the first {@link WARMUP_MESSAGES} messages of the stream untimed, then all of them, timed.
 */
import * as grpc from "@grpc/grpc-js";
import { APIService, StartPosition } from "@liftbridge/api";
import { createClient, connect as grpcConnect } from "@liftbridge/grpc";
import { connect, consumerOpts } from "nats";

export type ReaderMode = "jetstream-ordered" | "lb-lean" | "lb-grpc-js" | "lb-grpc-js-1mib";

export interface ReaderJob {
  readonly mode: ReaderMode;
  readonly count: number;
  readonly size: number;
  /** JetStream: the NATS URL and the stream's subject. */
  readonly url?: string;
  readonly subject?: string;
  /** Liftbridge: the gRPC port and the stream name. */
  readonly grpcPort?: number;
  readonly stream?: string;
}

export interface ReaderResult {
  /** Messages read in all, warm-up included (what the server's CPU time was spent on). */
  readonly messagesRead: number;
  /** The timed read: from just before subscribing (connection open, code warm) to the last message. */
  readonly elapsedMs: number;
}

// biome-ignore lint/suspicious/noExplicitAny: generic grpc-js client methods are untyped.
type GrpcJsClient = grpc.Client & Record<string, any>;

/** Messages read (untimed) before the timed read, to warm up the client's code. */
const WARMUP_MESSAGES = 50_000;

/** A connected reader: `read(n)` reads the first `n` messages of the stream and returns their bytes. */
interface Reader {
  read(n: number): Promise<number>;
  close(): Promise<void>;
}

async function jetStreamReader(job: ReaderJob): Promise<Reader> {
  const nc = await connect({ servers: job.url!, noAsyncTraces: true });
  return {
    async read(n) {
      // The push-based ordered consumer: nats.js's newer pull-based one stalls on a 2.9 server.
      const opts = consumerOpts();
      opts.orderedConsumer();
      opts.deliverAll();
      const messages = await nc.jetstream().subscribe(job.subject!, opts);
      let received = 0;
      let bytes = 0;
      for await (const m of messages) {
        bytes += m.data.length;
        if (++received === n) break;
      }
      return bytes;
    },
    close: () => nc.close(),
  };
}

async function leanReader(job: ReaderJob): Promise<Reader> {
  const channel = grpcConnect(`http://127.0.0.1:${job.grpcPort}`);
  // biome-ignore lint/suspicious/noExplicitAny: the definitions' streaming flags are plain booleans.
  const api = createClient(APIService, channel) as any;
  await api.FetchMetadata({}, { timeoutMs: 10_000 }); // the connection is up before the clock starts
  return {
    async read(n) {
      const ac = new AbortController();
      let received = 0;
      let bytes = 0;
      const call = api.Subscribe(
        { stream: job.stream, startPosition: StartPosition.EARLIEST },
        { signal: ac.signal },
      );
      await new Promise<void>((resolve) => {
        call.onMessage((m: { value: Uint8Array }) => {
          bytes += m.value.length;
          // +1: the empty message that confirms the subscription.
          if (++received === n + 1) {
            ac.abort();
            resolve();
          }
        });
      });
      return bytes;
    },
    close: () => channel.close(),
  };
}

async function grpcJsReader(job: ReaderJob): Promise<Reader> {
  const Ctor = grpc.makeGenericClientConstructor(
    APIService as unknown as grpc.ServiceDefinition,
    "API",
  ) as unknown as new (
    a: string,
    c: grpc.ChannelCredentials,
    o?: grpc.ChannelOptions,
  ) => GrpcJsClient;
  const options = job.mode === "lb-grpc-js-1mib" ? { "grpc-node.flow_control_window": 1 << 20 } : {};
  const client = new Ctor(`127.0.0.1:${job.grpcPort}`, grpc.credentials.createInsecure(), options);
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (e?: Error) => (e ? reject(e) : resolve())),
  );
  return {
    async read(n) {
      let received = 0;
      let bytes = 0;
      const call = client.Subscribe({
        stream: job.stream,
        startPosition: StartPosition.EARLIEST,
      }) as grpc.ClientReadableStream<{ value: Uint8Array }>;
      await new Promise<void>((resolve, reject) => {
        call.on("error", (e: grpc.ServiceError) => {
          if (e.code !== grpc.status.CANCELLED) reject(e);
        });
        call.on("data", (m: { value: Uint8Array }) => {
          bytes += m.value.length;
          if (++received === n + 1) {
            call.cancel();
            resolve();
          }
        });
      });
      return bytes;
    },
    close: async () => client.close(),
  };
}

async function run(job: ReaderJob): Promise<ReaderResult> {
  const open =
    job.mode === "jetstream-ordered" ? jetStreamReader : job.mode === "lb-lean" ? leanReader : grpcJsReader;
  const reader = await open(job);
  try {
    const warmup = Math.min(job.count, WARMUP_MESSAGES);
    await reader.read(warmup);
    const t0 = performance.now();
    const bytes = await reader.read(job.count);
    const elapsedMs = performance.now() - t0;
    // Verify, don't assume (BENCHMARKS.md): every byte of every message arrived.
    if (bytes !== job.count * job.size) {
      throw new Error(`received ${bytes} bytes, expected ${job.count * job.size}`);
    }
    return { elapsedMs, messagesRead: warmup + job.count };
  } finally {
    await reader.close();
  }
}

const job = JSON.parse(process.argv[2] ?? "{}") as ReaderJob;
const reply = (msg: unknown) => process.send!(msg, () => process.exit(0));
run(job).then(
  (result) => reply({ ok: true, result }),
  (e: unknown) => reply({ ok: false, error: e instanceof Error ? e.stack : String(e) }),
);
