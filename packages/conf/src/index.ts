/**
 * `@liftbridge/conf`: a parser and printer for the NATS configuration format, and the typed
 * Liftbridge server configuration schema (file, environment and flags).
 *
 * @packageDocumentation
 */
export type { ConfIssue, ConfLocation } from "./errors.js";
export { ConfError, ConfErrorCode, formatConfError, formatLocation, isConfError } from "./errors.js";
export type { FlagDefinition, ParsedLiftbridgeArgs } from "./flags.js";
export { flagsToOverrides, formatFlagHelp, LIFTBRIDGE_FLAGS, parseLiftbridgeArgs } from "./flags.js";
export type { ConfScalarKind, ConfScalarValue, ConfSink, LexConfOptions } from "./lexer.js";
export { ConfLineTable, DEFAULT_MAX_DEPTH, excerptAt, lexConf, SIZE_SUFFIXES } from "./lexer.js";
export type { ConfigOrigin, ConfigOverride, LoadConfigOptions, LoadedConfig } from "./load.js";
export { defaultConfig, loadConfig } from "./load.js";
export type { NatsServerConfig, NatsUser } from "./nats-server-config.js";
export { extractNatsServerConfig, loadNatsServerConfig, NATS_SERVER_DEFAULTS } from "./nats-server-config.js";
export type { ConfFileSystem, ParseConfOptions } from "./parser.js";
export { MAX_INCLUDE_DEPTH, nodeConfFs, parseConf, parseConfFile } from "./parser.js";
export type { PrintEffectiveConfigOptions } from "./print-effective.js";
export { MASK, printEffectiveConfig } from "./print-effective.js";
export type { PrintConfOptions } from "./printer.js";
export { printConf } from "./printer.js";
export { renderFlagsTable, renderOptionsTable, updateReadme } from "./readme-table.js";
export type {
  AckPolicyName,
  LiftbridgeConfig,
  LogLevel,
  OptionSpec,
  OptionType,
  OptionValue,
  StreamDefaults,
  SyncPolicyName,
} from "./schema.js";
export { DEFAULT_NAMESPACE, DEFAULT_PORT, envVarName, findOption, LIFTBRIDGE_OPTIONS } from "./schema.js";
export type { EffectiveStreamConfig, StreamOverrides } from "./stream-overrides.js";
export { applyStreamOverrides } from "./stream-overrides.js";
export type {
  ConfArrayNode,
  ConfBoolNode,
  ConfDatetimeNode,
  ConfDocument,
  ConfEntry,
  ConfFloatNode,
  ConfIntNode,
  ConfMapNode,
  ConfNode,
  ConfObject,
  ConfPosition,
  ConfStringNode,
  ConfValue,
} from "./types.js";
export { toPlain } from "./types.js";
export { formatGoDuration, parseGoDuration, parseSize } from "./values.js";
export { parseYamlConf } from "./yaml.js";
