/**
 * Error codes of `@liftbridge/conf`. The union is the package's error contract.
 *
 * - `parse`: the text is not valid NATS configuration syntax (also an unterminated string, map,
 *   array or block).
 * - `invalid`: a key has no value (nats-server's "config is invalid").
 * - `out_of_range`: a number does not fit in a signed 64-bit integer, or a schema value is outside
 *   its allowed range.
 * - `too_deep`: nesting (maps, arrays, includes or variable expansion) goes past the safety limit.
 * - `variable_not_found`, `variable_cycle`: `$VAR` resolution failed.
 * - `include`: an included file could not be read or parsed (the inner error is the `cause`).
 * - `yaml`: a YAML configuration file is malformed.
 * - `unprintable`: {@link printConf} was given a value the format cannot represent.
 * - `unknown_key`, `wrong_type`, `bad_duration`, `bad_size`, `bad_value`, `conflict`: schema
 *   validation problems, collected in {@link ConfError.issues} under the code `validation`.
 * - `validation`: one or more schema problems; see {@link ConfError.issues}.
 * - `bad_flag`: a command-line flag is unknown or lacks its argument.
 */
export const ConfErrorCode = {
  Parse: "parse",
  Invalid: "invalid",
  OutOfRange: "out_of_range",
  TooDeep: "too_deep",
  VariableNotFound: "variable_not_found",
  VariableCycle: "variable_cycle",
  Include: "include",
  Yaml: "yaml",
  Unprintable: "unprintable",
  UnknownKey: "unknown_key",
  WrongType: "wrong_type",
  BadDuration: "bad_duration",
  BadSize: "bad_size",
  BadValue: "bad_value",
  Conflict: "conflict",
  Validation: "validation",
  BadFlag: "bad_flag",
} as const;
/** One of the {@link ConfErrorCode} values. */
export type ConfErrorCode = (typeof ConfErrorCode)[keyof typeof ConfErrorCode];

/** A place in a configuration source: a file position, an environment variable or a flag. */
export interface ConfLocation {
  /** File name as given to the parser (`<input>` for an unnamed string), `env` or `flag`. */
  readonly file: string;
  /** 1-based line, 0 when the location is not in a file. */
  readonly line: number;
  /** 1-based column in UTF-16 code units, 0 when the location is not in a file. */
  readonly column: number;
}

/** One schema validation problem. */
export interface ConfIssue {
  readonly code: ConfErrorCode;
  /** The key as written in the source (dotted path), or the canonical key for env/flags. */
  readonly key: string;
  readonly location: ConfLocation | undefined;
  /** Full human-readable message, naming the key and its location. */
  readonly message: string;
}

/** Formats a location as `file:line:column`, or `file` alone when there is no line. */
export function formatLocation(loc: ConfLocation): string {
  return loc.line > 0 ? `${loc.file}:${loc.line}:${loc.column}` : loc.file;
}

/**
 * The one error class of `@liftbridge/conf`. The message starts with `[code]`; parse errors also
 * carry the location and a short excerpt of the offending line with a caret under the column.
 */
export class ConfError extends Error {
  override readonly name = "ConfError";
  readonly code: ConfErrorCode;
  /** Where the problem is, when known. */
  readonly location: ConfLocation | undefined;
  /** The offending source line with a caret under the column, when known. */
  readonly excerpt: string | undefined;
  /** Every validation problem (code `validation`); empty otherwise. */
  readonly issues: readonly ConfIssue[];

  constructor(
    code: ConfErrorCode,
    message: string,
    options?: ErrorOptions & {
      location?: ConfLocation | undefined;
      excerpt?: string | undefined;
      issues?: readonly ConfIssue[];
    },
  ) {
    super(`[${code}] ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.location = options?.location;
    this.excerpt = options?.excerpt;
    this.issues = options?.issues ?? [];
  }
}

/** True when `e` is a {@link ConfError} (optionally with the given code), even across duplicate installs. */
export const isConfError = (e: unknown, code?: ConfErrorCode): e is ConfError =>
  e instanceof Error &&
  e.name === "ConfError" &&
  typeof (e as { code?: unknown }).code === "string" &&
  (code === undefined || (e as { code?: unknown }).code === code);

/**
 * Formats a {@link ConfError} for a terminal: the message, then the excerpt (source line and caret)
 * indented, when there is one. Validation messages already list every issue on its own line.
 */
export function formatConfError(e: ConfError): string {
  if (e.excerpt === undefined) return e.message;
  return `${e.message}\n${e.excerpt
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n")}`;
}
