import { formatLocation } from "./errors.js";
import type { ConfigOrigin } from "./load.js";
import { quote } from "./printer.js";
import { LIFTBRIDGE_OPTIONS, type LiftbridgeConfig, type OptionSpec } from "./schema.js";
import { formatGoDuration } from "./values.js";

/** Options of {@link printEffectiveConfig}. */
export interface PrintEffectiveConfigOptions {
  /** When given (from `loadConfig`), each value set outside the defaults gets a `# from …` comment. */
  readonly origins?: ReadonlyMap<string, ConfigOrigin>;
}

/** What a secret prints as. */
export const MASK = "*****";

/**
 * Prints the effective configuration as NATS-format text with one canonical dotted key per line,
 * grouped as upstream groups them (for `liftbridge --print-config`). Secrets (`nats.password`)
 * are masked; unset options print as comments. Durations print as Go durations, so the output
 * (with secrets unmasked) loads back to the same configuration.
 */
export function printEffectiveConfig(
  config: LiftbridgeConfig,
  options: PrintEffectiveConfigOptions = {},
): string {
  const lines: string[] = [];
  let group = "";
  for (const o of LIFTBRIDGE_OPTIONS) {
    const g =
      o.key.includes(".") &&
      o.key !== "data.dir" &&
      !o.key.startsWith("batch.") &&
      !o.key.startsWith("metadata.")
        ? (o.key.split(".")[0] as string)
        : "";
    if (g !== group) {
      lines.push("", `# ${g}`);
      group = g;
    }
    const v = getPath(config, o.field);
    const origin = options.origins?.get(o.key);
    const from =
      origin === undefined || origin.kind === "default"
        ? ""
        : `  # from ${origin.kind === "file" && origin.location !== undefined ? formatLocation(origin.location) : (origin.location?.file ?? origin.kind)}`;
    if (v === undefined) {
      lines.push(`# ${o.key}: (not set)`);
      continue;
    }
    lines.push(`${o.key}: ${o.secret === true ? quote(MASK) : formatValue(o, v)}${from}`);
  }
  return `${lines.join("\n").trimStart()}\n`;
}

function formatValue(o: OptionSpec, v: unknown): string {
  if (o.type === "duration") return quote(formatGoDuration(v as number));
  if (Array.isArray(v)) return `[${v.map((x) => quote(String(x))).join(", ")}]`;
  if (typeof v === "string") return quote(v);
  return String(v);
}

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.split(".")) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}
