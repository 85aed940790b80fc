#!/usr/bin/env python3
"""Smoke test for a benchmark peer (or Ticker itself): connects, checks the message shapes
against Ticker's golden fixtures, subscribes, reads for a while and checks per-symbol `seq`
continuity and latency (receipt time minus the tick's `ts`).

    bench/peers/python/.venv/bin/python bench/peers/smoke.py ws://127.0.0.1:8080/ws \
        --seconds 2 --expect-batch on

Two clients run at once: one subscribed to `["*"]`, one to the first two symbols of `hello`
(so a partial subscription is exercised too). Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import statistics
import sys
import time

from websockets.asyncio.client import connect

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tests" / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


HELLO_KEYS = list(fixture("server_hello.json"))
SYMBOL_KEYS = list(fixture("server_hello.json")["symbols"][0])
SNAPSHOT_KEYS = list(fixture("server_snapshot.json"))
TICK_KEYS = list(fixture("server_ticks.json")["ticks"][0])
PONG_KEYS = list(fixture("server_pong.json"))
ERROR_KEYS = list(fixture("server_error.json"))


class Failed(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Failed(what)


def ints(d: dict, keys: list[str]) -> bool:
    return all(isinstance(d[k], int) and not isinstance(d[k], bool) for k in keys)


async def client(url: str, seconds: float, which: str, expect_batch: str) -> dict:
    async with connect(url, compression=None, max_size=2**20) as ws:
        hello = json.loads(await ws.recv())
        check(hello.get("type") == "hello", f"first message is not hello: {hello}")
        check(list(hello) == HELLO_KEYS, f"hello keys {list(hello)} != {HELLO_KEYS}")
        check(hello["protocol_version"] == 1, "protocol_version != 1")
        check(all(list(s) == SYMBOL_KEYS for s in hello["symbols"]), "symbol info keys differ")
        names = [s["symbol"] for s in hello["symbols"]]
        wanted = ["*"] if which == "all" else names[:2]
        expected = set(names) if which == "all" else set(names[:2])

        # An unknown type is refused with an error and the connection stays open.
        await ws.send('{"type":"bogus"}')
        err = json.loads(await ws.recv())
        check(err.get("type") == "error" and err.get("code") == "unknown_type"
              and list(err) == ERROR_KEYS, f"bad error answer: {err}")

        await ws.send(json.dumps({"type": "subscribe", "symbols": wanted}))
        last: dict[str, int] = {}
        stats = {"messages": 0, "ticks": 0, "gaps": 0, "dups": 0, "before_snapshot": 0,
                 "multi": 0, "latencies": [], "snapshots": 0, "pong": False}
        ping_ts = time.time() * 1000 + 0.5
        ping_sent = False
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not ping_sent and left < seconds / 2:
                await ws.send(json.dumps({"type": "ping", "ts": ping_ts}))
                ping_sent = True
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=left)
            except asyncio.TimeoutError:
                break
            received = time.time() * 1000
            msg = json.loads(text)
            kind = msg["type"]
            if kind == "snapshot":
                check(list(msg) == SNAPSHOT_KEYS, f"snapshot keys {list(msg)}")
                check(msg["symbol"] in expected, f"snapshot of unexpected {msg['symbol']}")
                check(msg["symbol"] not in last, f"second snapshot of {msg['symbol']}")
                q = msg["quote"]
                if q is not None:
                    check(list(q) == TICK_KEYS, f"quote keys {list(q)}")
                last[msg["symbol"]] = q["seq"] if q else 0
                stats["snapshots"] += 1
            elif kind == "ticks":
                check(list(msg) == ["type", "ticks"] and msg["ticks"], "bad ticks message")
                stats["messages"] += 1
                if len(msg["ticks"]) > 1:
                    stats["multi"] += 1
                for t in msg["ticks"]:
                    check(list(t) == TICK_KEYS, f"tick keys {list(t)} != {TICK_KEYS}")
                    check(ints(t, TICK_KEYS[1:]), f"non-integer tick field: {t}")
                    check(t["low"] <= t["price"] <= t["high"] and t["bid"] < t["ask"],
                          f"inconsistent tick {t}")
                    sym = t["symbol"]
                    check(sym in expected, f"tick of unsubscribed {sym}")
                    stats["ticks"] += 1
                    stats["latencies"].append(received - t["ts"])
                    if sym not in last:
                        stats["before_snapshot"] += 1
                    elif t["seq"] == last[sym] + 1:
                        pass
                    elif t["seq"] > last[sym]:
                        stats["gaps"] += 1
                    else:
                        stats["dups"] += 1
                        continue
                    last[sym] = t["seq"]
            elif kind == "pong":
                check(list(msg) == PONG_KEYS and msg["ts"] == ping_ts, f"bad pong {msg}")
                stats["pong"] = True
            else:
                raise Failed(f"unexpected message {text[:200]}")
        check(stats["snapshots"] == len(expected),
              f"{stats['snapshots']} snapshots for {len(expected)} symbols")
        check(ping_sent and stats["pong"], "no pong")
        check(stats["ticks"] > 0, "no ticks")
        check(stats["gaps"] == stats["dups"] == stats["before_snapshot"] == 0,
              f"seq violations: gaps={stats['gaps']} dups={stats['dups']} "
              f"before_snapshot={stats['before_snapshot']}")
        if expect_batch == "off":
            check(stats["multi"] == 0, f"{stats['multi']} messages with several ticks")
        elif expect_batch == "on" and which == "all":
            check(stats["multi"] > 0, "batch on but never several ticks in one message")
        return stats


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url", nargs="?", default="ws://127.0.0.1:8080/ws")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--max-latency-ms", type=float, default=100.0,
                   help="fail if the median latency is above this")
    p.add_argument("--expect-batch", choices=["on", "off", "any"], default="any")
    args = p.parse_args()
    try:
        results = await asyncio.gather(
            client(args.url, args.seconds, "all", args.expect_batch),
            client(args.url, args.seconds, "two", args.expect_batch))
    except Failed as failure:
        print(f"FAIL {args.url}: {failure}")
        return 1
    ok = True
    for which, s in zip(["*", "first 2"], results):
        lat = sorted(s["latencies"])
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"{which:>8}: {s['ticks']} ticks in {s['messages']} messages "
              f"({s['multi']} with several ticks), {s['snapshots']} snapshots, "
              f"seq gaps={s['gaps']} dups={s['dups']}, pong={s['pong']}, "
              f"latency ms p50={p50:.2f} p99={p99:.2f} max={lat[-1]:.2f}")
        if p50 > args.max_latency_ms:
            print(f"FAIL: median latency {p50:.1f} ms over {args.max_latency_ms} ms")
            ok = False
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
