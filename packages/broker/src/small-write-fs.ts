/**
 * The commit-log file system the broker injects: `@liftbridge/commitlog`'s node file system with
 * small positional writes (up to 4 KiB) done by a synchronous `pwrite` on the event-loop thread.
 *
 * Why: one-at-a-time unary `Publish` (bench B3) makes one tiny append per call. On a busy 2-core machine
 * the profile showed ~56 us of main-thread time per call in the threadpool write alone, and the
 * handler's p99 was ~1.8 ms; a page-cache `pwrite` of a few hundred bytes takes a few microseconds.
 * Ingest batches are larger and stay on the threadpool. Semantics are unchanged (see
 * `NodeFsOptions.syncWriteMaxBytes`).
 * @module
 */
import { createNodeFs, type FileSystem } from "@liftbridge/commitlog";

/** Writes up to this many bytes synchronously; larger ones use the threadpool. */
export const SMALL_WRITE_MAX_BYTES = 4 * 1024;

/** The node file system with small writes done synchronously (see the module comment). */
export const smallWriteFs: FileSystem = createNodeFs({ syncWriteMaxBytes: SMALL_WRITE_MAX_BYTES });
