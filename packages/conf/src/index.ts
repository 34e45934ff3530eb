/**
 * `@liftbridge/conf`: a parser and printer for the NATS configuration format, and the typed
 * Liftbridge server configuration schema (file, environment and flags).
 *
 * @packageDocumentation
 */
export type { ConfIssue, ConfLocation } from "./errors.js";
export { ConfError, ConfErrorCode, formatLocation, isConfError } from "./errors.js";
export type { ConfScalarToken, ConfSink, LexConfOptions } from "./lexer.js";
export { DEFAULT_MAX_DEPTH, lexConf, SIZE_SUFFIXES } from "./lexer.js";
export type { ConfFileSystem, ParseConfOptions } from "./parser.js";
export { MAX_INCLUDE_DEPTH, nodeConfFs, parseConf, parseConfFile } from "./parser.js";
export type { PrintConfOptions } from "./printer.js";
export { printConf } from "./printer.js";
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
