"""Interop checks of a gRPC server with Debian's python3-grpcio, using generic stubs (raw bytes).

Usage: python3 python_client.py PORT [CA_CERT_PATH]
Prints one JSON object {check: "ok" | error text} and exits 0; the vitest test asserts on it.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

port = sys.argv[1]
ca = sys.argv[2] if len(sys.argv) > 2 else None
target = f"127.0.0.1:{port}"
options = [
    ("grpc.keepalive_time_ms", 200),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]
if ca:
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(target, creds, options=options)
else:
    channel = grpc.insecure_channel(target, options=options)

ident = lambda b: b  # noqa: E731


def stub(kind, name):
    return getattr(channel, kind)(f"/test.Test/{name}", request_serializer=ident, response_deserializer=ident)


def cmd(**kw):
    return json.dumps(kw).encode()


results = {}


def check(name):
    def wrap(fn):
        try:
            fn()
            results[name] = "ok"
        except Exception as e:  # noqa: BLE001
            results[name] = f"{type(e).__name__}: {e}"
        return fn

    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_code(fn, code):
    try:
        fn()
    except grpc.RpcError as e:
        expect(e.code() == code, f"expected {code}, got {e.code()} {e.details()}")
        return e
    raise AssertionError(f"expected {code}, call succeeded")


@check("unary_metadata")
def _():
    resp, call = stub("unary_unary", "Echo").with_call(
        b"hello", metadata=(("x-echo", "abc"), ("x-echo-bin", b"\x00\x01\xfe\xff"))
    )
    expect(resp == b"hello", "echo body")
    expect(("x-echo", "abc") in call.initial_metadata(), f"header {call.initial_metadata()}")
    expect(("x-echo-bin", b"\x00\x01\xfe\xff") in call.trailing_metadata(), f"trailer {call.trailing_metadata()}")


@check("empty_message")
def _():
    expect(stub("unary_unary", "Echo")(b"") == b"", "empty echo")


@check("gzip_request")
def _():
    body = b"z" * 10000
    expect(stub("unary_unary", "Echo")(body, compression=grpc.Compression.Gzip) == body, "gzip echo")


@check("error_unicode_trailers_only")
def _():
    msg = "not found: ünïcödé 100% \t tab ☃ 𝄞"
    e = expect_code(lambda: stub("unary_unary", "Fail")(cmd(code=5, message=msg)), grpc.StatusCode.NOT_FOUND)
    expect(e.details() == msg, f"details {e.details()!r}")
    expect(("x-err", "detail") in e.trailing_metadata(), f"trailers {e.trailing_metadata()}")
    expect(("x-err-bin", b"\x00\x01\x02\xff") in e.trailing_metadata(), f"bin trailers {e.trailing_metadata()}")


@check("unknown_method")
def _():
    fn = channel.unary_unary("/test.Test/Nope", request_serializer=ident, response_deserializer=ident)
    expect_code(lambda: fn(b"x"), grpc.StatusCode.UNIMPLEMENTED)


@check("server_stream")
def _():
    n = 0
    for m in stub("unary_stream", "Count")(cmd(count=20000, size=128)):
        expect(int.from_bytes(m[:4], "big") == n, f"order at {n}")
        n += 1
    expect(n == 20000, f"count {n}")


@check("client_stream")
def _():
    resp = stub("stream_unary", "Sum")(iter([b"x" * 10] * 300))
    expect(json.loads(resp) == {"count": 300, "bytes": 3000}, resp)


@check("bidi")
def _():
    msgs = [i.to_bytes(4, "big") for i in range(5000)]
    got = [int.from_bytes(m, "big") for m in stub("stream_stream", "Chat")(iter(msgs))]
    expect(got == list(range(5000)), "bidi order")


@check("unary_deadline")
def _():
    t0 = time.time()
    expect_code(lambda: stub("unary_unary", "Sleep")(cmd(ms=10000, id="py-dl"), timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED)
    expect(time.time() - t0 < 5, "deadline took too long")


@check("stream_deadline")
def _():
    def run():
        for _ in stub("unary_stream", "Infinite")(cmd(id="py-sdl"), timeout=0.5):
            pass

    expect_code(run, grpc.StatusCode.DEADLINE_EXCEEDED)


@check("cancel_stream")
def _():
    call = stub("unary_stream", "Infinite")(cmd(id="py-cancel"))
    n = 0

    def run():
        nonlocal n
        for _ in call:
            n += 1
            if n == 2000:
                call.cancel()

    expect_code(run, grpc.StatusCode.CANCELLED)


@check("cancel_unary")
def _():
    fut = stub("unary_unary", "Sleep").future(cmd(ms=10000, id="py-ucancel"))
    time.sleep(0.2)
    fut.cancel()
    expect(fut.cancelled(), "future cancelled")


@check("max_message_size")
def _():
    big = b"q" * (4 * 1024 * 1024)
    expect(stub("unary_unary", "Echo")(big) == big, "4 MiB echo")
    expect_code(lambda: stub("unary_unary", "Echo")(big + b"!"), grpc.StatusCode.RESOURCE_EXHAUSTED)


@check("concurrent_unary")
def _():
    with ThreadPoolExecutor(max_workers=16) as pool:
        futs = [stub("unary_unary", "Echo").future(f"m{i}".encode()) for i in range(300)]
        for i, f in enumerate(futs):
            expect(f.result(timeout=30) == f"m{i}".encode(), f"concurrent {i}")
    del pool


@check("keepalive_pings")
def _():
    # The channel pings every 200 ms; a call that spans several pings must be unaffected.
    expect(stub("unary_unary", "Sleep")(cmd(ms=1000, id="py-ka")) == b"slept", "sleep through pings")


@check("health_check")
def _():
    hc = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=ident, response_deserializer=ident)
    expect(hc(b"") == b"\x08\x01", "SERVING")
    expect_code(lambda: hc(b"\x0a\x03zzz"), grpc.StatusCode.NOT_FOUND)


channel.close()
print(json.dumps(results))
