import { Worker } from "node:worker_threads";
import type { PublisherJob, PublisherResult } from "./workers/publisher.js";

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
