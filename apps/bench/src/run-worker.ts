import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { PublisherJob, PublisherResult } from "./workers/publisher.js";
import type { ReaderJob, ReaderResult } from "./workers/reader.js";

/** Runs one publisher job in a worker thread and resolves with its result. */
export function runPublisher(job: PublisherJob): Promise<PublisherResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./workers/publisher.js", import.meta.url), { workerData: job });
    worker.once("message", (msg: { ok: boolean; result?: PublisherResult; error?: string }) => {
      if (msg.ok && msg.result) resolve(msg.result);
      else reject(new Error(`publisher failed: ${msg.error}`));
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

/** Runs one reader job (B4) in a fresh child process and resolves with its result. */
export function runReader(job: ReaderJob): Promise<ReaderResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL("./workers/reader.js", import.meta.url)), [JSON.stringify(job)]);
    let settled = false;
    child.once("message", (msg: { ok: boolean; result?: ReaderResult; error?: string }) => {
      settled = true;
      if (msg.ok && msg.result) resolve(msg.result);
      else reject(new Error(`reader failed: ${msg.error}`));
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (!settled) reject(new Error(`reader exited with code ${code} before reporting`));
    });
  });
}
