/**
 * One partition on this server: its commit log under `data.dir`, and, as leader, its NATS
 * subscription, the ingest loop and the acks (spec internals §2.2-2.4).
 *
 * Ingest batches: every message that arrives during one event-loop turn (and while the previous
 * append is in flight) becomes one commit-log append, so one write (and one fsync under sync
 * `always`) per batch; there is one promise per batch, none per message.
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
  readonly minIsr: number;
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

/** Commit-log options for a stream: server defaults with the stream's overrides (spec §4.4). */
export function logOptionsFor(config: StreamConfig, d: StreamDefaults) {
  const retentionMaxAgeMs = config.retentionMaxAgeMs ?? d.retentionMaxAgeMs;
  let segmentMaxAgeMs =
    config.segmentMaxAgeMs ?? (d.segmentMaxAgeMs > 0 ? d.segmentMaxAgeMs : retentionMaxAgeMs);
  if (segmentMaxAgeMs > 0 && segmentMaxAgeMs < 1000) segmentMaxAgeMs = 1000;
  return {
    maxLogBytes: config.retentionMaxBytes ?? d.retentionMaxBytes,
    maxLogMessages: config.retentionMaxMessages ?? d.retentionMaxMessages,
    maxLogAgeMs: retentionMaxAgeMs,
    cleanerIntervalMs: config.cleanerIntervalMs ?? d.cleanerIntervalMs,
    maxSegmentBytes: Math.min(config.segmentMaxBytes ?? d.segmentMaxBytes, 2 ** 32 - 1),
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
  readonly #ctx: PartitionContext;
  readonly #log: Logger;
  #sub: NatsSubscriptionHandle | undefined;
  #pending: NatsMessage[] = [];
  /** Messages of `#pending` before this index were taken already (no O(n) `splice` per batch). */
  #pendingHead = 0;
  #scheduled = false;
  #appending = false;
  #chain: Promise<void> = Promise.resolve();
  #lastSubject = "";
  #lastSubjectBytes: Uint8Array = REPLY_EMPTY;
  #plainSubject = "";
  #plainHeaderList: readonly RecordHeader[] = [];
  readonly #occ: boolean;
  readonly #minIsr: number;

  constructor(stream: StreamState, meta: PartitionState, ctx: PartitionContext) {
    this.stream = stream;
    this.meta = meta;
    this.#ctx = ctx;
    this.natsSubject = partitionSubject(meta.subject, meta.id);
    this.dir = path.join(ctx.dataDir, "streams", streamDirName(stream.name), String(meta.id));
    this.#log = ctx.logger.child({ component: "partition", stream: stream.name, partition: meta.id });
    this.#occ = stream.config.optimisticConcurrencyControl === true;
    this.#minIsr = stream.config.minIsr ?? ctx.defaults.minIsr;
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
    }
    this.#log.info({ leo: log.newestOffset + 1, hw: log.highWatermark }, "partition started");
  }

  async #stop(reason: PartitionStopReason, remove: boolean): Promise<void> {
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
    return this.#serial(async () => {
      const sub = this.#sub;
      this.#sub = undefined;
      // Messages NATS routed here before the UNSUB are stored, not dropped (issue #7).
      const err = sub === undefined ? undefined : await drainSubscription(sub, this.#ctx.nats);
      if (err !== undefined) this.#log.warn({ err }, "NATS did not confirm the partition unsubscribe");
      while (this.#appending || this.#pending.length > this.#pendingHead) {
        if (!this.#appending) this.#flush();
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
    if (!this.#scheduled && !this.#appending) {
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
    if (this.#appending || pending.length === head) return;
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
    if (this.meta.readonly) {
      // Spec internals §2.2 step 7: dropped without an ack.
      this.#next();
      return;
    }
    const records: AppendRecord[] = [];
    const targets: (AckTarget | undefined)[] = [];
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
      if (env === undefined && reply === "") {
        // The common plain publish: one shared, immutable header list per subject, no allocation.
        records.push({ key: null, value: data, headers: this.#plainHeaders(msg.subject) });
      } else {
        const headers: RecordHeader[] = [];
        if (env !== undefined) {
          for (const [k, v] of env.headers)
            if (k !== "subject" && k !== "reply") headers.push({ key: k, value: v });
        }
        headers.push({ key: "subject", value: this.#subjectBytes(msg.subject) });
        headers.push({ key: "reply", value: reply === "" ? REPLY_EMPTY : Buffer.from(reply, "utf8") });
        if (env !== undefined) {
          records.push({ key: env.key.byteLength > 0 ? env.key : null, value: env.value, headers });
        } else {
          records.push({ key: null, value: data, headers });
        }
      }
      targets.push(target);
      next++;
    }
    if (records.length === 0) {
      this.#next();
      return;
    }
    this.#appending = true;
    log.append(records, { timestamp: ts }).then(
      (offsets) => {
        this.#appending = false;
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
        this.#appending = false;
        // Closed, deleted or read-only logs drop the batch without acks (spec internals §2.2 step 7).
        if (this.log === log) this.#log.warn({ err, count: records.length }, "append failed, batch dropped");
        this.#next();
      },
    );
  };

  #next(): void {
    if (this.#pending.length > this.#pendingHead && !this.#scheduled) {
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
