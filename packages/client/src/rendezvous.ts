/**
 * Rendezvous (highest random weight) score of `node` for `key`.
 *
 * Not CRC-32: CRC is affine over GF(2), so for equal-length inputs the winner among a few nodes is
 * decided by one or two bits of the key's CRC, and small key sets (stream names differing in one
 * digit) can all land on one broker. FNV-1a with a murmur3 finalizer mixes every input bit.
 */
export function rendezvousScore(node: string, key: string): number {
  let h = 0x811c9dc5;
  const text = `${node}|${key}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
