import { confChangeOf, type RawNode } from "./core/raw-node.js";
import type { Storage } from "./core/storage.js";
import type { ConfState, Entry, HardState, Message, ReadState, Ready, Snapshot } from "./core/types.js";

/** Storage the Ready loop writes to: a {@link Storage} plus durable writes (see {@link FileStorage}). */
export interface DurableStorage extends Storage {
  append(entries: readonly Entry[]): void;
  setHardState(hs: HardState): void;
  /** Installs a snapshot received from the leader; durable on return. */
  applySnapshot(snap: Snapshot): void;
  /** Makes appended entries and hard state durable. */
  sync(): void;
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot;
  compact(index: number): void;
}

/** Callbacks of {@link completeReady}. */
export interface ReadyHooks {
  /** Called once the Ready's writes are durable, before anything is sent (simulation invariants). */
  durable?(): void;
  send(m: Message): void;
  /** Replace the state machine with a snapshot's data. */
  restore(snap: Snapshot): void;
  /** Apply one committed entry; `conf` is the new configuration for conf entries, else null. */
  apply(e: Entry, conf: ConfState | null): void;
  readState(rs: ReadState): void;
}

/** Ready-loop step 1: write the snapshot, entries and hard state (entries may still be volatile). */
export function writeReady(storage: DurableStorage, rd: Ready): void {
  if (rd.snapshot) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
}

/**
 * Ready-loop steps 2-5: fsync if `mustSync`, then send messages, then apply the snapshot and committed
 * entries (conf entries through `applyConf`), then deliver read states, then `advance`.
 */
export function completeReady(core: RawNode, storage: DurableStorage, rd: Ready, hooks: ReadyHooks): void {
  if (rd.mustSync) storage.sync();
  hooks.durable?.();
  for (const m of rd.messages) hooks.send(m);
  if (rd.snapshot) hooks.restore(rd.snapshot);
  for (const e of rd.committed) hooks.apply(e, e.kind === "conf" ? core.applyConf(confChangeOf(e)) : null);
  for (const rs of rd.readStates) hooks.readState(rs);
  core.advance(rd);
}
