/**
 * Retention planning (spec §1.8), pure: decides which whole segments to delete. The executor in
 * the log unlinks them. The last (active) segment is never deleted.
 */

/** What the planner needs to know about a segment. */
export interface SegmentStats {
  readonly baseOffset: number;
  /** `.log` size in bytes (index size is not counted). */
  readonly sizeBytes: number;
  /** Records in the segment (after compaction: the survivors). */
  readonly recordCount: number;
  /** Timestamp of the last record in Unix ms, or 0 when the segment is empty. */
  readonly lastTimestampMs: number;
}

/** Retention limits; 0 disables a limit. */
export interface RetentionPolicy {
  readonly maxLogBytes: number;
  readonly maxLogMessages: number;
  readonly maxLogAgeMs: number;
}

/**
 * Returns how many leading segments to delete. Limits apply in order age, messages, bytes; each
 * walks the segments still kept by the previous one.
 */
export function planRetention(
  segments: readonly SegmentStats[],
  policy: RetentionPolicy,
  nowMs: number,
): number {
  const n = segments.length;
  if (n <= 1) return 0;
  let cut = 0;
  if (policy.maxLogAgeMs > 0) {
    const limit = nowMs - policy.maxLogAgeMs;
    while (cut < n - 1 && segments[cut]!.lastTimestampMs < limit) cut++;
  }
  if (policy.maxLogMessages > 0) {
    let total = 0;
    for (let i = n - 1; i >= cut; i--) {
      total += segments[i]!.recordCount;
      if (total > policy.maxLogMessages) {
        cut = Math.max(cut, Math.min(i + 1, n - 1));
        break;
      }
    }
  }
  if (policy.maxLogBytes > 0) {
    let total = 0;
    for (let i = n - 1; i >= cut; i--) {
      total += segments[i]!.sizeBytes;
      if (total > policy.maxLogBytes) {
        cut = Math.max(cut, Math.min(i + 1, n - 1));
        break;
      }
    }
  }
  return cut;
}
