"""Every server maps a bad request to a clear status (threat: a caller gets INTERNAL and the
parser's own message back, learning internals, or an unknown enum value looks like our fault)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from mash.grpc_server import build_server
from mash.vocab import Purpose, parse


def _raises_unknown_vocabulary(request: bytes, context: grpc.aio.ServicerContext) -> Any:
    async def handler() -> bytes:
        parse(Purpose, "x" * 3000 + "\x1b[2J")
        return b""
    return handler()


async def _call(method: str, payload: bytes) -> tuple[grpc.StatusCode, str, list[tuple[str, bytes]]]:
    seen: list[tuple[str, bytes]] = []

    async def on_malformed(m: str, raw: bytes, _ctx: grpc.aio.ServicerContext) -> None:
        seen.append((m, raw))

    server = build_server(on_malformed=on_malformed)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("t.T", {
        "Enum": grpc.unary_unary_rpc_method_handler(
            _raises_unknown_vocabulary, request_deserializer=lambda b: b,
            response_serializer=lambda b: b)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            try:
                await ch.unary_unary(method)(payload, timeout=10)
            except grpc.aio.AioRpcError as err:
                return err.code(), err.details() or "", seen
            return grpc.StatusCode.OK, "", seen
    finally:
        await server.stop(None)


def test_malformed_protobuf_is_invalid_argument_without_parser_text() -> None:
    code, details, seen = asyncio.run(_call("/grpc.health.v1.Health/Check",
                                            b"\x0a\xff\xff\xff\xff\x0f garbage"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Error" not in details and "DecodeError" not in details and "parsing" not in details
    assert seen == [("/grpc.health.v1.Health/Check", b"\x0a\xff\xff\xff\xff\x0f garbage")]


def test_an_unknown_enum_value_is_invalid_argument_never_internal() -> None:
    code, details, _ = asyncio.run(_call("/t.T/Enum", b""))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "xxxx" not in details and "\x1b" not in details


def test_a_well_formed_request_still_reaches_its_handler() -> None:
    code, _, seen = asyncio.run(_call("/grpc.health.v1.Health/Check", b""))
    assert code == grpc.StatusCode.OK and seen == []
