// Shared by the sendFramed tests: a server-streaming method of raw bytes and its numbered payloads.
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
