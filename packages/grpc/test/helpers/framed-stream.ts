// Shared by the sendFramed tests: a server-streaming method of raw bytes and its numbered payloads.
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "../../src/index.js";

const id = (b: Buffer): Buffer => b;

/** A server-streaming method `/test.<service>/<name>` whose messages are raw bytes. */
export function bytesStreamMethod(service: string, name: string) {
  return {
    path: `/test.${service}/${name}`,
    requestStream: false,
    responseStream: true,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
    originalName: name,
  } as MethodDefinition<Buffer, Buffer> & { requestStream: false; responseStream: true };
}

/** Message `i` of a test: its index as u32 BE, then `size - 4` bytes of `i & 0xff`. */
export function payload(i: number, size: number): Buffer {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

/** Calls server-streaming `method` of `service` with a grpc-js client and collects every message. */
export async function readAllWithGrpcJs(
  service: Record<string, MethodDefinition<Buffer, Buffer>>,
  port: number,
  method: string,
  request: Buffer,
): Promise<Buffer[]> {
  const Ctor = grpc.makeGenericClientConstructor(service as unknown as grpc.ServiceDefinition, "Test");
  const c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, (req: Buffer) => grpc.ClientReadableStream<Buffer>>;
  try {
    const s = c[method]!(request);
    const got: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      s.on("data", (m: Buffer) => got.push(m));
      s.on("error", reject);
      s.on("end", () => resolve());
    });
    return got;
  } finally {
    c.close();
  }
}
