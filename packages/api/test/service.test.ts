import { describe, expect, it } from "vitest";
import {
  API_SERVICE_NAME,
  APIService,
  CreateStreamRequest,
  HEALTH_SERVICE_NAME,
  HealthCheckResponseServingStatus,
  HealthService,
  isApiError,
  Message,
} from "../src/index.js";
import { apiProtoPath, parseProto } from "./support/proto.js";

/** Spec §2.2: every RPC, in order, with its kind. */
const SPEC_RPCS: ReadonlyArray<[string, "unary" | "server" | "bidi"]> = [
  ["CreateStream", "unary"],
  ["DeleteStream", "unary"],
  ["PauseStream", "unary"],
  ["SetStreamReadonly", "unary"],
  ["Subscribe", "server"],
  ["FetchMetadata", "unary"],
  ["FetchPartitionMetadata", "unary"],
  ["Publish", "unary"],
  ["PublishAsync", "bidi"],
  ["PublishToSubject", "unary"],
  ["SetCursor", "unary"],
  ["FetchCursor", "unary"],
  ["JoinConsumerGroup", "unary"],
  ["LeaveConsumerGroup", "unary"],
  ["FetchConsumerGroupAssignments", "unary"],
  ["ReportConsumerGroupCoordinator", "unary"],
];

describe("APIService", () => {
  it("has the 16 RPCs of spec §2.2 with /proto.API/ paths and streaming flags", () => {
    expect(Object.keys(APIService)).toEqual(SPEC_RPCS.map(([n]) => n));
    for (const [name, kind] of SPEC_RPCS) {
      const m = APIService[name as keyof typeof APIService];
      expect(m.path).toBe(`/proto.API/${name}`);
      expect([m.requestStream, m.responseStream]).toEqual([kind === "bidi", kind !== "unary"]);
      expect(m.originalName).toBe(name[0]!.toLowerCase() + name.slice(1));
    }
    expect(API_SERVICE_NAME).toBe("proto.API");
    expect(HEALTH_SERVICE_NAME).toBe("proto.API");
  });

  it("serializers are the message codecs", () => {
    const req = CreateStreamRequest.create({ name: "s", subject: "x", partitions: 2 });
    const bytes = APIService.CreateStream.requestSerialize(req);
    expect(bytes).toEqual(CreateStreamRequest.encode(req));
    expect(APIService.CreateStream.requestDeserialize(bytes)).toEqual(req);
    const first = Message.create();
    expect(APIService.Subscribe.responseSerialize(first).length).toBe(0);
    expect(APIService.Subscribe.responseDeserialize(Buffer.alloc(0))).toEqual(first);
    let caught: unknown;
    try {
      APIService.Publish.requestDeserialize(Buffer.from([0x0a, 0x05, 0x01]));
    } catch (e) {
      caught = e;
    }
    expect(isApiError(caught, "malformed")).toBe(true);
  });

  it("health service: grpc.health.v1.Health Check and Watch", () => {
    expect(HealthService.Check.path).toBe("/grpc.health.v1.Health/Check");
    expect([HealthService.Watch.path, HealthService.Watch.responseStream]).toEqual([
      "/grpc.health.v1.Health/Watch",
      true,
    ]);
    const bytes = HealthService.Check.responseSerialize({ status: HealthCheckResponseServingStatus.SERVING });
    expect(bytes.toString("hex")).toBe("0801");
  });
});

describe("api.proto", () => {
  it("declares its elements in the order of spec §2.5", () => {
    const { root } = parseProto(apiProtoPath);
    const ns = root.lookup("proto") as unknown as { nestedArray: { name: string }[] };
    expect(ns.nestedArray.map((n) => n.name)).toEqual([
      ..."NullableInt64 NullableInt32 NullableBool CreateStreamRequest CreateStreamResponse DeleteStreamRequest".split(
        " ",
      ),
      ..."DeleteStreamResponse PauseStreamRequest PauseStreamResponse SetStreamReadonlyRequest".split(" "),
      ..."SetStreamReadonlyResponse StartPosition StopPosition Consumer SubscribeRequest FetchMetadataRequest".split(
        " ",
      ),
      ..."FetchMetadataResponse FetchPartitionMetadataRequest FetchPartitionMetadataResponse PublishRequest".split(
        " ",
      ),
      ..."PublishAsyncError PublishResponse PublishToSubjectRequest PublishToSubjectResponse SetCursorRequest".split(
        " ",
      ),
      ..."SetCursorResponse FetchCursorRequest FetchCursorResponse JoinConsumerGroupRequest".split(" "),
      ..."JoinConsumerGroupResponse LeaveConsumerGroupRequest LeaveConsumerGroupResponse".split(" "),
      ..."FetchConsumerGroupAssignmentsRequest PartitionAssignment FetchConsumerGroupAssignmentsResponse".split(
        " ",
      ),
      ..."ReportConsumerGroupCoordinatorRequest ReportConsumerGroupCoordinatorResponse Broker StreamMetadata".split(
        " ",
      ),
      ..."ConsumerGroupMetadata PartitionEventTimestamps PartitionMetadata AckPolicy Message Ack ActivityStreamOp".split(
        " ",
      ),
      ..."CreateStreamOp DeleteStreamOp PauseStreamOp ResumeStreamOp SetStreamReadonlyOp JoinConsumerGroupOp".split(
        " ",
      ),
      ..."LeaveConsumerGroupOp ActivityStreamEvent API".split(" "),
    ]);
  });

  it("marks jstype = JS_STRING exactly on the spec's JS fields (not NullableInt64.value, Consumer.groupEpoch)", () => {
    const { root } = parseProto(apiProtoPath);
    const js: string[] = [];
    const all64: string[] = [];
    const visit = (ns: { nestedArray: unknown[] }) => {
      for (const n of ns.nestedArray as { fieldsArray?: unknown[]; nestedArray?: unknown[] }[]) {
        for (const f of (n.fieldsArray ?? []) as {
          type: string;
          name: string;
          parent: { name: string };
          options?: Record<string, unknown>;
        }[]) {
          if (f.type === "int64" || f.type === "uint64") {
            all64.push(`${f.parent.name}.${f.name}`);
            if (f.options?.jstype === "JS_STRING") js.push(`${f.parent.name}.${f.name}`);
          }
        }
        if (n.nestedArray) visit(n as { nestedArray: unknown[] });
      }
    };
    visit(root.lookup("proto") as unknown as { nestedArray: unknown[] });
    expect(all64.filter((x) => !js.includes(x))).toEqual(["NullableInt64.value", "Consumer.groupEpoch"]);
    expect(js.length).toBe(25);
  });
});
