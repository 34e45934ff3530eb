import type { MetadataOp } from "../src/metadata.js";

/** A CREATE_STREAM op of a single-node cluster (`s1`), subject = name, for FSM-level tests. */
export const createStreamOp = (name: string, partitions = 1): MetadataOp => ({
  op: "create_stream",
  name,
  subject: name,
  group: "",
  partitions,
  replicationFactor: 1,
  replicas: ["s1"],
  leader: "s1",
  config: {},
  creationTimestamp: "1",
});
