/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as Go's `hash/crc32.ChecksumIEEE`. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32 IEEE of `data` (unsigned 32-bit), identical to Go's `crc32.ChecksumIEEE`. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const encoder = new TextEncoder();

/** CRC-32 IEEE of the UTF-8 bytes of `text`. */
export function crc32String(text: string): number {
  return crc32(encoder.encode(text));
}
