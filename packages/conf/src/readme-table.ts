import { LIFTBRIDGE_OPTIONS, type OptionSpec } from "./schema.js";
import { formatGoDuration } from "./values.js";

const TYPE_NAMES: Readonly<Record<OptionSpec["type"], string>> = {
  string: "string",
  path: "path",
  int: "int",
  size: "size (bytes)",
  bool: "bool",
  duration: "duration",
  stringList: "list of strings",
  listen: "host:port or port",
  enum: "enum",
};

function defaultText(o: OptionSpec): string {
  if (o.defaultText !== undefined) return o.defaultText;
  const v = o.default;
  if (v === undefined) return "none";
  if (o.type === "duration") return `\`${formatGoDuration(v as number)}\``;
  if (Array.isArray(v)) return v.length === 0 ? "`[]`" : `\`${JSON.stringify(v)}\``;
  return `\`${String(v)}\``;
}

/**
 * Renders the configuration reference as a Markdown table, generated from
 * {@link LIFTBRIDGE_OPTIONS}; the package README embeds it between markers.
 */
export function renderOptionsTable(): string {
  const rows = LIFTBRIDGE_OPTIONS.map((o) => {
    const type = o.type === "enum" ? (o.values ?? []).join(" / ") : TYPE_NAMES[o.type];
    const names = [`\`${o.key}\``, ...(o.aliases ?? []).map((a) => `\`${a}\``)].join("<br>");
    const flag = o.flag === undefined ? "" : `\`${o.flag}\``;
    const env = `\`LIFTBRIDGE_${o.key.toUpperCase().replace(/\./g, "_")}\``;
    return `| ${names} | ${type} | ${defaultText(o)} | ${flag} | ${env} | ${o.doc.replace(/\|/g, "\\|")} |`;
  });
  return [
    "| Key (and accepted aliases) | Type | Default | Flag | Environment | Meaning |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
