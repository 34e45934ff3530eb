/**
 * Building blocks of the embedded server, for sibling packages and tests.
 * @internal Outside semver: may change in any release.
 */
export type { ParserLimits, ParserSink } from "./parser.js";
export { ParseErrorKind, ProtocolParser } from "./parser.js";
export { EmbeddedNatsServer } from "./server.js";
export type { SublistEntry, SublistResult } from "./sublist.js";
export { DEFAULT_SUBLIST_CACHE_SIZE, Sublist } from "./sublist.js";
