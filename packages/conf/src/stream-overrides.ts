import { ConfError, ConfErrorCode } from "./errors.js";
import type { LiftbridgeConfig, StreamDefaults } from "./schema.js";

/**
 * Per-stream settings a `CreateStreamRequest` may carry (API spec §4.4), as they arrive from the
 * wire's Nullable wrappers: absent (undefined) means "use the server default". Durations are
 * milliseconds, sizes bytes.
 */
export interface StreamOverrides {
  readonly retentionMaxBytes?: number | undefined;
  readonly retentionMaxMessages?: number | undefined;
  readonly retentionMaxAgeMs?: number | undefined;
  readonly cleanerIntervalMs?: number | undefined;
  readonly segmentMaxBytes?: number | undefined;
  readonly segmentMaxAgeMs?: number | undefined;
  readonly compactMaxGoroutines?: number | undefined;
  readonly compactEnabled?: boolean | undefined;
  readonly autoPauseTimeMs?: number | undefined;
  readonly autoPauseDisableIfSubscribers?: boolean | undefined;
  /** Overrides `clustering.min.insync.replicas`. */
  readonly minIsr?: number | undefined;
  /** Overrides `streams.concurrency.control`. */
  readonly optimisticConcurrencyControl?: boolean | undefined;
  readonly encryption?: boolean | undefined;
}

/** The settings one stream runs with: the server's stream defaults with its overrides applied. */
export interface EffectiveStreamConfig extends StreamDefaults {
  readonly minIsr: number;
}

const NUMBER_FIELDS = [
  ["retentionMaxBytes", 0],
  ["retentionMaxMessages", 0],
  ["retentionMaxAgeMs", 0],
  ["cleanerIntervalMs", 1],
  ["segmentMaxBytes", 1],
  ["segmentMaxAgeMs", 0],
  ["compactMaxGoroutines", 0],
  ["autoPauseTimeMs", 0],
  ["minIsr", 1],
] as const;

/**
 * Applies a stream's overrides to the server configuration (API spec §4.4). An override of
 * `retentionMaxAgeMs` without `segmentMaxAgeMs` also moves the segment age (it defaults to the
 * retention age), and a segment age in (0, 1000) ms becomes 1000, as for the server default.
 * Throws {@link ConfError} `bad_value` for a negative, fractional (except durations) or
 * non-finite number; the message names the field.
 */
export function applyStreamOverrides(
  config: LiftbridgeConfig,
  overrides: StreamOverrides = {},
): EffectiveStreamConfig {
  for (const [field, min] of NUMBER_FIELDS) {
    const v = overrides[field];
    if (v === undefined) continue;
    const isDuration = field.endsWith("Ms");
    if (!Number.isFinite(v) || v < min || (!isDuration && !Number.isSafeInteger(v))) {
      throw new ConfError(
        ConfErrorCode.BadValue,
        `stream override ${field} = ${v} is invalid: expected ${isDuration ? "a number of ms" : "an integer"} >= ${min}`,
      );
    }
  }
  const d = config.streams;
  const retentionMaxAgeMs = overrides.retentionMaxAgeMs ?? d.retentionMaxAgeMs;
  let segmentMaxAgeMs =
    overrides.segmentMaxAgeMs ??
    (overrides.retentionMaxAgeMs !== undefined ? retentionMaxAgeMs : d.segmentMaxAgeMs);
  if (segmentMaxAgeMs > 0 && segmentMaxAgeMs < 1000) segmentMaxAgeMs = 1000;
  return {
    retentionMaxBytes: overrides.retentionMaxBytes ?? d.retentionMaxBytes,
    retentionMaxMessages: overrides.retentionMaxMessages ?? d.retentionMaxMessages,
    retentionMaxAgeMs,
    cleanerIntervalMs: overrides.cleanerIntervalMs ?? d.cleanerIntervalMs,
    segmentMaxBytes: overrides.segmentMaxBytes ?? d.segmentMaxBytes,
    segmentMaxAgeMs,
    compactEnabled: overrides.compactEnabled ?? d.compactEnabled,
    compactMaxGoroutines: overrides.compactMaxGoroutines ?? d.compactMaxGoroutines,
    autoPauseTimeMs: overrides.autoPauseTimeMs ?? d.autoPauseTimeMs,
    autoPauseDisableIfSubscribers: overrides.autoPauseDisableIfSubscribers ?? d.autoPauseDisableIfSubscribers,
    concurrencyControl: overrides.optimisticConcurrencyControl ?? d.concurrencyControl,
    encryption: overrides.encryption ?? d.encryption,
    sync: d.sync,
    syncIntervalMs: d.syncIntervalMs,
    minIsr: overrides.minIsr ?? config.clustering.minInsyncReplicas,
  };
}
