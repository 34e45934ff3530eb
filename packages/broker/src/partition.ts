/**
 * One partition on this server: its commit log under `data.dir`, and, as leader, its NATS
 * subscription, the ingest loop and the acks (spec internals §2.2-2.4).
 *
 * Ingest batches: every message that arrives during one event-loop turn (and while the appends in
 * flight fill the pipeline) becomes one commit-log append of at most `batchMaxMessages`; up to four
 * appends are in flight, and the log writes the ones queued behind a write as one write (one fsync
 * under sync `always`); there is one promise per batch, none per message.
 * @module
 */
import * as path from "node:path";
import { type Ack, AckError, AckPolicy, encodeAck, tryUnmarshalMessage } from "@liftbridge/api";
import {
  type AppendRecord,
  type CommitLog,
  openCommitLog,
  type RecordHeader,
  type SyncPolicy,
} from "@liftbridge/commitlog";
import { AutoPauseTimer, autoPauseSettingsFor } from "./auto-pause.js";
import type { BrokerClock } from "./clock.js";
import { createValueCipher, openEntries, type ValueCipher } from "./encryption.js";
import type { Logger } from "./logger.js";
import type { EventTimestamps, PartitionState, StreamConfig, StreamState } from "./metadata.js";
import type { NatsConnection, NatsMessage, NatsSubscriptionHandle } from "./nats.js";
import { smallWriteFs } from "./small-write-fs.js";
import { confirmSubscriptions, drainSubscription } from "./subscription-ready.js";
import { nowNs, partitionSubject, streamDirName } from "./util.js";

/** Server-wide stream defaults (spec §4.3 `streams.*`), in bytes, counts and milliseconds. */
export interface StreamDefaults {
  readonly retentionMaxBytes: number;
  readonly retentionMaxMessages: number;
  readonly retentionMaxAgeMs: number;
  readonly cleanerIntervalMs: number;
  readonly segmentMaxBytes: number;
  /** 0 = same as retentionMaxAgeMs. */
  readonly segmentMaxAgeMs: number;
  readonly compactEnabled: boolean;
  /** Accepted for compatibility; the TS commit log compacts in one pass (no worker pool). */
  readonly compactMaxGoroutines: number;
  /** Idle time before a partition leader auto-pauses; 0 = off. */
  readonly autoPauseTimeMs: number;
  /** Do not auto-pause partitions that have active subscribers. */
  readonly autoPauseDisableIfSubscribers: boolean;
  readonly minIsr: number;
  /** `streams.encryption`: encrypt streams created without an explicit flag. */
  readonly encryption: boolean;
}

/** What a partition needs from its broker. */
export interface PartitionContext {
  readonly dataDir: string;
  readonly serverId: string;
  readonly nats: NatsConnection;
  readonly logger: Logger;
  readonly defaults: StreamDefaults;
  readonly sync: SyncPolicy;
  readonly syncIntervalMs: number;
  /** `clustering.replication.max.bytes`: larger NATS payloads get a TOO_LARGE ack and are dropped. */
  readonly maxMessageBytes: number;
  readonly batchMaxMessages: number;
  /**
   * Delivers an ack in-process when `inbox` is a live ack inbox of this server (PublishAsync, Publish);
   * returns false when the ack must go out on NATS.
   */
  readonly localAck?: (inbox: string, ack: Ack) => boolean;
  /** Clock of the broker's timers (auto-pause). */
  readonly clock: BrokerClock;
  /** Proposes PAUSE_STREAM for this one partition (auto-pause); rejects when not applied. */
  readonly proposePause: (p: Partition) => Promise<void>;
  /** Master key of encryption at rest (checked), when the server has a usable one. */
  readonly encryptionKey?: Buffer;
}

/** Why a partition's log is not open. */
export type PartitionStopReason = "paused" | "deleted" | "closed";

interface AckTarget {
  readonly inbox: string;
  readonly correlationId: string;
  readonly policy: AckPolicy;
  readonly subject: string;
}

const REPLY_EMPTY = new Uint8Array(0);
/** Ingest appends a partition keeps in flight (see `Partition.#inFlight`). */
const MAX_APPENDS_IN_FLIGHT = 4;

/** The commit log's own cleaner period, used when the effective interval is 0 (as upstream's log). */
const LOG_DEFAULT_CLEANER_INTERVAL_MS = 5 * 60 * 1000;

/**
 * Commit-log options for a stream: server defaults with the stream's overrides (spec §4.4; every
 * duration in ms). A cleaner interval of 0 means the log's default (5 min) and a segment size of 0
 * the log's default (1 GiB), as upstream; the segment age defaults to the (stream's) retention age
 * and is raised to at least 1 s.
 */
export function logOptionsFor(config: StreamConfig, d: StreamDefaults) {
  const retentionMaxAgeMs = config.retentionMaxAgeMs ?? d.retentionMaxAgeMs;
  // As `@liftbridge/conf`'s applyStreamOverrides: the segment age follows a stream's own retention
  // age unless the stream sets one (upstream keeps the server's, so a per-stream age limit would only
  // act once a segment rolls by size).
  let segmentMaxAgeMs =
    config.segmentMaxAgeMs ??
    (config.retentionMaxAgeMs !== undefined || d.segmentMaxAgeMs <= 0
      ? retentionMaxAgeMs
      : d.segmentMaxAgeMs);
  if (segmentMaxAgeMs > 0 && segmentMaxAgeMs < 1000) segmentMaxAgeMs = 1000;
  return {
    maxLogBytes: config.retentionMaxBytes ?? d.retentionMaxBytes,
    maxLogMessages: config.retentionMaxMessages ?? d.retentionMaxMessages,
    maxLogAgeMs: retentionMaxAgeMs,
    cleanerIntervalMs: (config.cleanerIntervalMs ?? d.cleanerIntervalMs) || LOG_DEFAULT_CLEANER_INTERVAL_MS,
    // 0 = the log's default (1 GiB), as upstream's commit log.
    maxSegmentBytes: Math.min((config.segmentMaxBytes ?? d.segmentMaxBytes) || 2 ** 30, 2 ** 32 - 1),
    maxSegmentAgeMs: segmentMaxAgeMs,
    compact: config.compactEnabled ?? d.compactEnabled,
  };
}

/** A partition of a stream, hosted on this server. */
export class Partition {
  readonly stream: StreamState;
  readonly meta: PartitionState;
  readonly natsSubject: string;
  readonly dir: string;
  readonly messagesReceived: EventTimestamps = { first: "0", latest: "0" };
  /** The open log, or `undefined` while paused, deleted or closed. */
  log: CommitLog | undefined;
  /** High watermark when the log was last closed (paused partitions report it). */
  lastHighWatermark = -1;
  /** Newest offset when the log was last closed. */
  lastNewestOffset = -1;
  stopReason: PartitionStopReason | undefined = "closed";
  /** Clock time of the last message received, or of the leader's start (auto-pause idle time). */
  lastReceivedMs = 0;
  /** Active Subscribe calls reading this partition (`auto.pause.disable.if.subscribers`). */
  activeSubscribers = 0;
  #autoPause: AutoPauseTimer | undefined;
  readonly #ctx: PartitionContext;
  readonly #log: Logger;
  #sub: NatsSubscriptionHandle | undefined;
  #pending: NatsMessage[] = [];
  /** Messages of `#pending` before this index were taken already (no O(n) `splice` per batch). */
  #pendingHead = 0;
  #scheduled = false;
  /**
   * Appends handed to the log and not settled yet. Up to {@link MAX_APPENDS_IN_FLIGHT} (1 with
   * optimistic concurrency, whose expected offsets need the log's settled end): the next batch is
   * encoded and queued while the previous write is in flight, and the log writes the queued batches
   * as one write when it is done. Acks still follow each batch's durable append, in order.
   */
  #inFlight = 0;
  readonly #maxInFlight: number;
  /** @internal Most appends in flight at once so far (diagnostics, tests). */
  peakAppendsInFlight = 0;
  #chain: Promise<void> = Promise.resolve();
  #lastSubject = "";
  #lastSubjectBytes: Uint8Array = REPLY_EMPTY;
  #plainSubject = "";
  #plainHeaderList: readonly RecordHeader[] = [];
  readonly #occ: boolean;
  readonly #minIsr: number;
  /** Whether values are stored sealed (the stream's `encryption` flag, fixed at creation). */
  readonly encrypted: boolean;
  /** Seals and opens values of an encrypted stream; `undefined` when the server has no usable key. */
  readonly valueCipher: ValueCipher | undefined;

  constructor(stream: StreamState, meta: PartitionState, ctx: PartitionContext) {
    this.stream = stream;
    this.meta = meta;
    this.#ctx = ctx;
    this.natsSubject = partitionSubject(meta.subject, meta.id);
    this.dir = path.join(ctx.dataDir, "streams", streamDirName(stream.name), String(meta.id));
    this.#log = ctx.logger.child({ component: "partition", stream: stream.name, partition: meta.id });
    this.#occ = stream.config.optimisticConcurrencyControl === true;
    this.#maxInFlight = this.#occ ? 1 : MAX_APPENDS_IN_FLIGHT;
    this.#minIsr = stream.config.minIsr ?? ctx.defaults.minIsr;
    this.encrypted = stream.config.encryption === true;
    this.valueCipher =
      this.encrypted && ctx.encryptionKey !== undefined ? createValueCipher(ctx.encryptionKey) : undefined;
  }

  /** Whether this server leads the partition. */
  get isLeader(): boolean {
    return this.meta.leader === this.#ctx.serverId;
  }

  /** Runs lifecycle steps one at a time (open, pause, resume, delete, close). */
  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn);
    this.#chain = next.catch((err: unknown) => this.#log.error({ err }, "partition lifecycle step failed"));
    return next;
  }

  /** Opens the log (unless paused) and, as leader, subscribes to the partition subject. */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.meta.paused) {
        this.stopReason = "paused";
        return;
      }
      await this.#open();
    });
  }

  async #open(): Promise<void> {
    if (this.log !== undefined) return;
    // Only replicas store the partition (until replication: only its leader, see placement.ts).
    if (!this.meta.replicas.includes(this.#ctx.serverId)) return;
    const log = await openCommitLog(this.dir, {
      ...logOptionsFor(this.stream.config, this.#ctx.defaults),
      sync: this.#ctx.sync,
      syncIntervalMs: this.#ctx.syncIntervalMs,
      readonly: this.meta.readonly,
      logger: this.#log,
      fs: smallWriteFs,
    });
    // A single replica is the whole ISR: everything written is committed (spec internals §4.4).
    if (this.meta.isr.length >= this.#minIsr && log.newestOffset > log.highWatermark) {
      log.setHighWatermark(log.newestOffset);
    }
    this.log = log;
    this.stopReason = undefined;
    if (this.isLeader) {
      const opts: { queue?: string; callback: (m: NatsMessage) => void } = { callback: this.#onMessage };
      if (this.meta.group !== "") opts.queue = this.meta.group;
      this.#sub = this.#ctx.nats.subscribe(this.natsSubject, opts);
      // Start (and so CreateStream, resume, startup) ends once NATS routes the subject here (issue #7).
      const err = await confirmSubscriptions(this.#ctx.nats);
      if (err !== undefined) this.#log.warn({ err }, "NATS did not confirm the partition subscription");
      this.#startAutoPause();
    }
    this.#log.info({ leo: log.newestOffset + 1, hw: log.highWatermark }, "partition started");
    if (this.encrypted) {
      try {
        await this.#checkEncryptionKey(log);
      } catch (err) {
        // Diagnostics only: the subscribe path reports unreadable values on its own.
        this.#log.warn({ err }, "encryption key check failed");
      }
    }
  }

  /**
   * Encrypted stream: says clearly in the log when this server cannot seal (no key) or cannot open the
   * newest stored value (a different master key than the one the data was written with).
   */
  async #checkEncryptionKey(log: CommitLog): Promise<void> {
    const cipher = this.valueCipher;
    if (cipher === undefined) {
      this.#log.error({}, "stream is encrypted but LIFTBRIDGE_ENCRYPTION_KEY is missing or invalid");
      return;
    }
    if (log.newestOffset < 0) return;
    for await (const batch of log.readRaw({ offset: log.newestOffset, wait: false })) {
      const r = openEntries(batch.bytes, 1, cipher);
      if (r.error !== undefined) {
        this.#log.error(
          { err: r.error.cause, offset: r.error.offset },
          "stream cannot be decrypted: LIFTBRIDGE_ENCRYPTION_KEY differs from the key its data was written with",
        );
      }
      break;
    }
  }

  /**
   * Re-reads the stream's auto-pause settings (after a hook changed the config of a stream that is
   * already open, as `__cursors` re-applies `cursors.stream.auto.pause.time` on start). The idle time
   * counts from now.
   */
  refreshAutoPause(): Promise<void> {
    return this.#serial(async () => {
      this.#autoPause?.stop();
      this.#autoPause = undefined;
      if (this.log !== undefined && this.isLeader) this.#startAutoPause();
    });
  }

  #startAutoPause(): void {
    const ctx = this.#ctx;
    this.lastReceivedMs = ctx.clock.now();
    const settings = autoPauseSettingsFor(this.stream.config, ctx.defaults);
    if (settings.timeMs <= 0) return;
    const target = {
      lastReceivedMs: () => this.lastReceivedMs,
      activeSubscribers: () => this.activeSubscribers,
      pause: () => ctx.proposePause(this),
    };
    this.#autoPause = new AutoPauseTimer(settings, target, ctx.clock, this.#log);
    this.#autoPause.start();
  }

  async #stop(reason: PartitionStopReason, remove: boolean): Promise<void> {
    this.#autoPause?.stop();
    this.#autoPause = undefined;
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    this.#pending = [];
    this.#pendingHead = 0;
    const log = this.log;
    this.log = undefined;
    this.stopReason = reason;
    if (log === undefined) {
      if (remove) {
        const { rm } = await import("node:fs/promises");
        await rm(this.dir, { recursive: true, force: true });
      }
      return;
    }
    this.lastHighWatermark = log.highWatermark;
    this.lastNewestOffset = log.newestOffset;
    if (remove) await log.delete();
    else await log.close();
  }

  /** Pauses: unsubscribes and closes the log (subscribers end with FailedPrecondition). */
  pause(): Promise<void> {
    return this.#serial(() => this.#stop("paused", false));
  }

  /** Resumes a paused partition: reopens the log and subscribes again. */
  resume(): Promise<void> {
    return this.#serial(() => this.#open());
  }

  /** Deletes the log and its directory (subscribers end with NotFound). */
  delete(): Promise<void> {
    return this.#serial(() => this.#stop("deleted", true));
  }

  /** Closes (server shutdown): waits for the in-flight append, then closes the log. */
  close(): Promise<void> {
    this.#autoPause?.stop();
    return this.#serial(async () => {
      const sub = this.#sub;
      this.#sub = undefined;
      // Messages NATS routed here before the UNSUB are stored, not dropped (issue #7).
      const err = sub === undefined ? undefined : await drainSubscription(sub, this.#ctx.nats);
      if (err !== undefined) this.#log.warn({ err }, "NATS did not confirm the partition unsubscribe");
      while (this.#inFlight > 0 || this.#pending.length > this.#pendingHead) {
        if (this.#inFlight === 0) this.#flush();
        await new Promise((r) => setImmediate(r));
      }
      await this.#stop("closed", false);
    });
  }

  /** Applies the replicated read-only flag to the log. */
  applyReadonly(): void {
    this.log?.setReadonly(this.meta.readonly);
  }

  readonly #onMessage = (msg: NatsMessage): void => {
    this.#pending.push(msg);
    if (!this.#scheduled && this.#inFlight < this.#maxInFlight) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  };

  #subjectBytes(subject: string): Uint8Array {
    if (subject !== this.#lastSubject) {
      this.#lastSubject = subject;
      this.#lastSubjectBytes = Buffer.from(subject, "utf8");
    }
    return this.#lastSubjectBytes;
  }

  /** The `subject` + empty `reply` headers of a plain message on `subject` (cached for the last one). */
  #plainHeaders(subject: string): readonly RecordHeader[] {
    if (subject !== this.#plainSubject) {
      this.#plainSubject = subject;
      this.#plainHeaderList = Object.freeze([
        { key: "subject", value: Buffer.from(subject, "utf8") },
        { key: "reply", value: REPLY_EMPTY },
      ]);
    }
    return this.#plainHeaderList;
  }

  #sendAck(t: AckTarget, offset: number, received: bigint, ackError: AckError, commitTs: bigint): void {
    const local = this.#ctx.localAck;
    const ack: Ack = {
      stream: this.stream.name,
      partitionSubject: this.meta.subject,
      msgSubject: t.subject,
      offset,
      ackInbox: t.inbox,
      correlationId: t.correlationId,
      ackPolicy: t.policy,
      receptionTimestamp: received,
      commitTimestamp: commitTs,
      ackError,
    };
    if (local?.(t.inbox, ack)) return;
    this.#ctx.nats.publish(t.inbox, encodeAck(ack));
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const pending = this.#pending;
    const head = this.#pendingHead;
    if (this.#inFlight >= this.#maxInFlight || pending.length === head) return;
    const log = this.log;
    if (log === undefined) {
      this.#pending = [];
      this.#pendingHead = 0;
      return;
    }
    const max = this.#ctx.batchMaxMessages;
    let msgs: NatsMessage[];
    if (head === 0 && pending.length <= max) {
      msgs = pending;
      this.#pending = [];
    } else if (pending.length - head <= max) {
      msgs = pending.slice(head);
      this.#pending = [];
      this.#pendingHead = 0;
    } else {
      msgs = pending.slice(head, head + max);
      this.#pendingHead = head + max;
      // Under a long backlog, drop the taken prefix now and then so it can be collected.
      if (this.#pendingHead > 65_536 && this.#pendingHead * 2 > pending.length) {
        this.#pending = pending.slice(this.#pendingHead);
        this.#pendingHead = 0;
      }
    }
    const ts = nowNs();
    stamp(this.messagesReceived, ts);
    this.lastReceivedMs = this.#ctx.clock.now();
    if (this.meta.readonly) {
      // Spec internals §2.2 step 7: dropped without an ack.
      this.#next();
      return;
    }
    const records: AppendRecord[] = [];
    const targets: (AckTarget | undefined)[] = [];
    let unsealed = 0;
    let next = log.newestOffset + 1;
    const maxBytes = this.#ctx.maxMessageBytes;
    for (let i = 0; i < msgs.length; i++) {
      const msg = msgs[i]!;
      const data = msg.data;
      const env = tryUnmarshalMessage(data);
      const reply = msg.reply ?? "";
      let target: AckTarget | undefined;
      if (env !== undefined && env.ackInbox !== "" && env.ackPolicy !== AckPolicy.NONE) {
        target = {
          inbox: env.ackInbox,
          correlationId: env.correlationId,
          policy: env.ackPolicy,
          subject: msg.subject,
        };
      }
      if (data.byteLength > maxBytes) {
        if (target !== undefined) this.#sendAck(target, 0, ts, AckError.TOO_LARGE, 0n);
        continue;
      }
      const expected = env === undefined ? 0 : env.offset;
      if (this.#occ && expected !== -1 && expected !== next) {
        if (target !== undefined) this.#sendAck(target, 0, ts, AckError.INCORRECT_OFFSET, nowNs());
        continue;
      }
      let value: Uint8Array | null = env !== undefined ? env.value : data;
      if (this.encrypted) {
        // Spec internals §1.2.1: the leader seals the value before appending; failing that, ENCRYPTION.
        const sealed = this.#seal(value);
        if (sealed === undefined) {
          if (target !== undefined) this.#sendAck(target, 0, ts, AckError.ENCRYPTION, nowNs());
          unsealed++;
          continue;
        }
        value = sealed;
      }
      if (env === undefined && reply === "") {
        // The common plain publish: one shared, immutable header list per subject, no allocation.
        records.push({ key: null, value, headers: this.#plainHeaders(msg.subject) });
      } else {
        const headers: RecordHeader[] = [];
        if (env !== undefined) {
          for (const [k, v] of env.headers)
            if (k !== "subject" && k !== "reply") headers.push({ key: k, value: v });
        }
        headers.push({ key: "subject", value: this.#subjectBytes(msg.subject) });
        headers.push({ key: "reply", value: reply === "" ? REPLY_EMPTY : Buffer.from(reply, "utf8") });
        if (env !== undefined) {
          records.push({ key: env.key.byteLength > 0 ? env.key : null, value, headers });
        } else {
          records.push({ key: null, value, headers });
        }
      }
      targets.push(target);
      next++;
    }
    if (unsealed > 0) {
      this.#log.error({ count: unsealed }, "encrypted stream without a usable key: messages dropped");
    }
    if (records.length === 0) {
      this.#next();
      return;
    }
    this.#inFlight++;
    if (this.#inFlight > this.peakAppendsInFlight) this.peakAppendsInFlight = this.#inFlight;
    log.append(records, { timestamp: ts }).then(
      (offsets) => {
        this.#inFlight--;
        const committed = this.meta.isr.length >= this.#minIsr;
        if (committed) log.setHighWatermark(offsets[offsets.length - 1]!);
        // One commit timestamp for the whole batch: it was committed by one append.
        const commitTs = nowNs();
        for (let i = 0; i < targets.length; i++) {
          const t = targets[i];
          if (t === undefined) continue;
          if (t.policy === AckPolicy.ALL && !committed) continue;
          this.#sendAck(t, offsets[i]!, ts, AckError.OK, commitTs);
        }
        this.#next();
      },
      (err: unknown) => {
        this.#inFlight--;
        // Closed, deleted or read-only logs drop the batch without acks (spec internals §2.2 step 7).
        if (this.log === log) this.#log.warn({ err, count: records.length }, "append failed, batch dropped");
        this.#next();
      },
    );
    // A backlog beyond this batch goes into the next append right away, queued behind this write.
    this.#next();
  };

  /** Seals a value, or `undefined` when this server cannot (no usable key; logged once per batch). */
  #seal(value: Uint8Array | null): Buffer | undefined {
    const cipher = this.valueCipher;
    if (cipher === undefined) return undefined;
    try {
      return cipher.seal(value);
    } catch (err) {
      this.#log.error({ err }, "sealing a value failed");
      return undefined;
    }
  }

  #next(): void {
    if (this.#pending.length > this.#pendingHead && !this.#scheduled && this.#inFlight < this.#maxInFlight) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }
}

function stamp(t: EventTimestamps, ts: bigint): void {
  const s = ts.toString();
  if (t.first === "0") t.first = s;
  t.latest = s;
}
