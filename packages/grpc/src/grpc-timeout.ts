const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * Parses a `grpc-timeout` header value (1-8 ASCII digits and a unit H, M, S, m, u or n) into milliseconds.
 * Returns `undefined` when the value is malformed.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] ?? "m"] ?? 1);
}

/**
 * Formats a timeout in milliseconds as a `grpc-timeout` value, rounding up and switching to coarser units
 * so that it fits in 8 digits. Negative timeouts become `0m` (an already expired deadline).
 */
export function formatGrpcTimeout(ms: number): string {
  const value = Math.max(0, Math.ceil(ms));
  if (value < 100_000_000) return `${value}m`;
  const seconds = Math.ceil(value / 1000);
  if (seconds < 100_000_000) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}
