/**
 * The service definitions carry literal streaming flags, so `@liftbridge/grpc` types every RPC by its
 * call kind. The `expectTypeOf` lines are checked by `pnpm typecheck` (tsc), the calls at run time.
 */
import {
  type BidiStreamingMethod,
  type Client,
  type ClientDuplexCall,
  connect,
  createClient,
  createServer,
  type ServerStreamingMethod,
  type ServiceHandlers,
  type UnaryCallOptions,
  type UnaryMethod,
} from "@liftbridge/grpc";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  APIService,
  type APIServiceDefinition,
  type CreateStreamRequest,
  type CreateStreamRequestInit,
  type CreateStreamResponse,
  type HealthCheckRequestInit,
  type HealthCheckResponse,
  HealthService,
  type Message,
  type PublishRequestInit,
  type PublishResponse,
  type SubscribeRequestInit,
} from "../src/index.js";

describe("service definitions are typed per call kind", () => {
  it("flags are literal types", () => {
    expectTypeOf(APIService.CreateStream.requestStream).toEqualTypeOf<false>();
    expectTypeOf(APIService.CreateStream.responseStream).toEqualTypeOf<false>();
    expectTypeOf(APIService.Subscribe.responseStream).toEqualTypeOf<true>();
    expectTypeOf(APIService.PublishAsync.requestStream).toEqualTypeOf<true>();
    expectTypeOf(APIService.PublishAsync.responseStream).toEqualTypeOf<true>();
    expectTypeOf(HealthService.Watch.responseStream).toEqualTypeOf<true>();
    expect([APIService.Subscribe.requestStream, APIService.Subscribe.responseStream]).toEqual([false, true]);
  });

  it("createClient(APIService, channel) has typed methods: partial requests in, complete responses out", async () => {
    type Api = Client<APIServiceDefinition>;
    expectTypeOf<Api["CreateStream"]>().toEqualTypeOf<
      UnaryMethod<CreateStreamRequestInit, CreateStreamResponse>
    >();
    expectTypeOf<Api["CreateStream"]>().parameter(0).toEqualTypeOf<CreateStreamRequestInit>();
    expectTypeOf<Api["CreateStream"]>().parameter(1).toEqualTypeOf<UnaryCallOptions | undefined>();
    expectTypeOf<Api["CreateStream"]>().returns.resolves.toEqualTypeOf<CreateStreamResponse>();
    expectTypeOf<Api["Subscribe"]>().toEqualTypeOf<ServerStreamingMethod<SubscribeRequestInit, Message>>();
    expectTypeOf<Api["PublishAsync"]>().toEqualTypeOf<
      BidiStreamingMethod<PublishRequestInit, PublishResponse>
    >();
    expectTypeOf<ReturnType<Api["PublishAsync"]>>().toEqualTypeOf<
      ClientDuplexCall<PublishRequestInit, PublishResponse>
    >();
    type Health = Client<typeof HealthService>;
    expectTypeOf<Health["Check"]>().toEqualTypeOf<UnaryMethod<HealthCheckRequestInit, HealthCheckResponse>>();

    // Handlers: complete requests in, partial responses out.
    type Handlers = ServiceHandlers<APIServiceDefinition>;
    expectTypeOf<Handlers["CreateStream"]>().parameter(0).toEqualTypeOf<CreateStreamRequest>();

    // The same types at run time, over a real @liftbridge/grpc server and client.
    const server = createServer();
    const handlers: Pick<Handlers, "CreateStream" | "Subscribe"> = {
      CreateStream(request) {
        if (request.name === "") throw new Error("unreachable: the client sent a name");
        return {};
      },
      async *Subscribe(request) {
        for (let i = 0; i < 2; i++) yield { stream: request.stream, offset: i };
      },
    };
    server.addService({ CreateStream: APIService.CreateStream, Subscribe: APIService.Subscribe }, handlers);
    const port = await server.listen(0, "127.0.0.1");
    const channel = connect(`127.0.0.1:${port}`);
    try {
      const api = createClient(APIService, channel);
      expectTypeOf(api.CreateStream).toEqualTypeOf<
        UnaryMethod<CreateStreamRequestInit, CreateStreamResponse>
      >();
      const created = await api.CreateStream({ name: "s", subject: "s" }, { timeoutMs: 10_000 });
      expect(created).toEqual({});
      const offsets: number[] = [];
      for await (const m of api.Subscribe({ stream: "s" }, { timeoutMs: 10_000 })) {
        expectTypeOf(m).toEqualTypeOf<Message>();
        expect(m.stream).toBe("s");
        offsets.push(m.offset);
      }
      expect(offsets).toEqual([0, 1]);
    } finally {
      await channel.close();
      await server.close({ graceMs: 1000 });
    }
  });
});
