#!/usr/bin/env python3
"""A quick Python `websockets` broadcast server: a benchmark peer for Ticker.

It speaks the subset of Ticker's wire protocol (docs/PROTOCOL.md) that the load generator
uses, with the same JSON shapes, and is fed by an in-process tick generator. The shape is the
classic asyncio broadcast pattern: a set of connected clients and one broadcast loop that
serializes every tick once and pushes the same text to every subscriber with
`websockets.broadcast` (synchronous, no per-client await, so a slow client never blocks the
loop; also no backpressure: a client that stops reading grows its write buffer until the
keepalive ping times out).

    python server.py --port 8080 --symbols 30 --tick-rate 4 --seed 1 --batch on

See ../README.md for how it differs from Ticker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import signal
import sys
import time

import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve

PROTOCOL_VERSION = 1
# Ticker's limits: client text at most 16 KiB, frames at most 64 KiB, symbol lists 1..256.
MAX_TEXT_BYTES = 16 * 1024
MAX_FRAME_BYTES = 64 * 1024
MAX_LIST = 256
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,11}$")
CLIENT_FIELDS = {
    "subscribe": {"symbols"},
    "unsubscribe": {"symbols"},
    "resume": {"instance_id", "last_seq"},
    "ping": {"ts"},
}

# Ticker's catalogue (server/src/catalogue.rs): symbol, name, previous close in cents,
# annualised volatility. `--symbols N` takes the first N; beyond 30, synthetic S030, S031, ...
CATALOGUE = [
    ("AAPL", "Apple Inc.", 23_045, 0.26),
    ("MSFT", "Microsoft Corp.", 42_310, 0.24),
    ("NVDA", "NVIDIA Corp.", 14_180, 0.52),
    ("AMZN", "Amazon.com Inc.", 20_990, 0.33),
    ("GOOGL", "Alphabet Inc. Class A", 17_520, 0.30),
    ("META", "Meta Platforms Inc.", 58_240, 0.38),
    ("TSLA", "Tesla Inc.", 34_460, 0.60),
    ("BRK.B", "Berkshire Hathaway Inc. Class B", 47_120, 0.16),
    ("JPM", "JPMorgan Chase & Co.", 24_150, 0.22),
    ("V", "Visa Inc.", 31_080, 0.19),
    ("UNH", "UnitedHealth Group Inc.", 52_370, 0.27),
    ("XOM", "Exxon Mobil Corp.", 11_840, 0.24),
    ("JNJ", "Johnson & Johnson", 15_530, 0.16),
    ("WMT", "Walmart Inc.", 8_512, 0.18),
    ("MA", "Mastercard Inc.", 52_060, 0.20),
    ("PG", "Procter & Gamble Co.", 17_010, 0.15),
    ("HD", "Home Depot Inc.", 40_120, 0.23),
    ("COST", "Costco Wholesale Corp.", 91_875, 0.21),
    ("AVGO", "Broadcom Inc.", 16_990, 0.45),
    ("KO", "Coca-Cola Co.", 6_418, 0.14),
    ("PEP", "PepsiCo Inc.", 15_812, 0.16),
    ("ADBE", "Adobe Inc.", 50_140, 0.34),
    ("NFLX", "Netflix Inc.", 88_215, 0.40),
    ("AMD", "Advanced Micro Devices Inc.", 13_975, 0.50),
    ("CRM", "Salesforce Inc.", 33_060, 0.33),
    ("INTC", "Intel Corp.", 2_214, 0.48),
    ("DIS", "Walt Disney Co.", 11_230, 0.27),
    ("NKE", "Nike Inc. Class B", 7_615, 0.31),
    ("BA", "Boeing Co.", 15_540, 0.36),
    ("PFE", "Pfizer Inc.", 2_603, 0.25),
]
TRADING_YEAR_MS = 252.0 * 6.5 * 3_600_000.0
SPREAD_BPS = 1.5
MEDIAN_TRADE_SIZE = 120.0
TRADE_SIZE_SIGMA = 1.0
ROUND_LOT_SHARE = 0.6
MAX_TRADE_SIZE = 50_000.0
# If the loop falls further behind than this, the schedule skips ahead instead of bursting.
MAX_CATCH_UP_MS = 1_000.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Symbol:
    """One simulated instrument: a geometric random walk with a spread and session stats."""

    __slots__ = ("info", "name", "vol", "mid", "seq", "open", "high", "low", "volume",
                 "last_ts", "next_due", "last_tick")

    def __init__(self, symbol: str, name: str, close: int, vol: float, start: float) -> None:
        self.name = symbol
        self.info = {"symbol": symbol, "name": name, "tick_size": 1, "reference_price": close}
        self.vol = vol
        self.mid = float(close)
        self.seq = 0
        self.open = self.high = self.low = 0
        self.volume = 0
        self.last_ts = start
        self.next_due = start
        self.last_tick: dict | None = None

    def trade(self, rng: random.Random, ts: float) -> dict:
        dt_ms = max(ts - self.last_ts, 1.0)
        dt_years = dt_ms / TRADING_YEAR_MS
        log_return = (-0.5 * self.vol * self.vol * dt_years
                      + self.vol * math.sqrt(dt_years) * rng.gauss(0.0, 1.0))
        self.mid = max(self.mid * math.exp(log_return), 1.0)
        self.last_ts = ts
        spread = max(round(self.mid * SPREAD_BPS / 10_000.0), 1)
        bid = math.floor(self.mid - spread / 2.0)
        ask = bid + spread
        price = ask if log_return >= 0.0 else bid
        raw = min(max(rng.lognormvariate(math.log(MEDIAN_TRADE_SIZE), TRADE_SIZE_SIGMA), 1.0),
                  MAX_TRADE_SIZE)
        size = max(round(raw / 100.0) * 100, 100) if rng.random() < ROUND_LOT_SHARE else round(raw)
        if self.seq == 0:
            self.open = self.high = self.low = price
        else:
            self.high = max(self.high, price)
            self.low = min(self.low, price)
        self.volume += size
        self.seq += 1
        # Field order is Ticker's (shared/tests/fixtures/server_ticks.json); `ts` is the trade's
        # scheduled time, as Ticker's is, so latency includes the wait for the broadcast loop.
        tick = {"symbol": self.name, "seq": self.seq, "ts": round(ts), "price": price, "size": size,
                "bid": bid, "ask": ask, "open": self.open, "high": self.high, "low": self.low,
                "volume": self.volume}
        self.last_tick = tick
        return tick


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.instance_id = os.urandom(8).hex()
        self.started_at = now_ms()
        start = float(self.started_at)
        self.symbols: dict[str, Symbol] = {}
        for i in range(args.symbols):
            if i < len(CATALOGUE):
                sym, name, close, vol = CATALOGUE[i]
            else:
                sym, name = f"S{i:03d}", f"Synthetic {i:03d}"
                close, vol = self.rng.randint(1_000, 100_000), 0.3
            s = Symbol(sym, name, close, vol, start)
            s.next_due = start + self.gap_ms()
            self.symbols[sym] = s
        self.all_names = frozenset(self.symbols)
        # Connected clients and what each is subscribed to.
        self.clients: dict[ServerConnection, set[str]] = {}
        # Batch off: subscribers per symbol. Batch on: clients grouped by identical subscription
        # (with `*` everybody shares one group), so each group's frame is built once.
        self.by_symbol: dict[str, set[ServerConnection]] = {s: set() for s in self.symbols}
        self.groups: dict[frozenset[str], set[ServerConnection]] = {}

    def gap_ms(self) -> float:
        return self.rng.expovariate(self.args.tick_rate / 1_000.0)

    # ---- subscriptions -------------------------------------------------------------------

    def _set_subs(self, ws: ServerConnection, subs: set[str]) -> None:
        old = self.clients.get(ws)
        if old is not None:
            key = frozenset(old)
            group = self.groups.get(key)
            if group is not None:
                group.discard(ws)
                if not group:
                    del self.groups[key]
            for s in old - subs:
                self.by_symbol[s].discard(ws)
        for s in subs - (old or set()):
            self.by_symbol[s].add(ws)
        self.clients[ws] = subs
        if subs:
            self.groups.setdefault(frozenset(subs), set()).add(ws)

    def _remove(self, ws: ServerConnection) -> None:
        old = self.clients.pop(ws, None)
        if old is None:
            return
        key = frozenset(old)
        group = self.groups.get(key)
        if group is not None:
            group.discard(ws)
            if not group:
                del self.groups[key]
        for s in old:
            self.by_symbol[s].discard(ws)

    # ---- sending -------------------------------------------------------------------------

    @staticmethod
    def send(ws: ServerConnection, text: str) -> None:
        # Everything a connection gets goes through the same synchronous write path as the
        # ticks, so a snapshot is always followed by exactly the ticks after it.
        broadcast([ws], text)

    def error(self, ws: ServerConnection, code: str, message: str) -> None:
        self.send(ws, dumps({"type": "error", "code": code, "message": message}))

    def snapshot(self, ws: ServerConnection, sym: str, reset: bool) -> None:
        quote = self.symbols[sym].last_tick
        self.send(ws, dumps({"type": "snapshot", "symbol": sym, "reset": reset,
                             "quote": quote, "candles": {}}))

    # ---- client messages -----------------------------------------------------------------

    def parse_list(self, ws: ServerConnection, value: object) -> list[str] | None:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
            self.error(ws, "invalid_message", "symbols must be a list of 1 to 256 symbols")
            return None
        if any(not isinstance(v, str) for v in value):
            self.error(ws, "invalid_message", "symbols must be strings")
            return None
        if "*" in value:
            return list(self.symbols)
        bad = [v for v in value if not SYMBOL_RE.match(v)]
        if bad:
            self.error(ws, "invalid_message", f"invalid symbol {json.dumps(bad[0])}")
            return None
        names = list(dict.fromkeys(value))
        unknown = [v for v in names if v not in self.symbols]
        if unknown:
            self.error(ws, "unknown_symbol",
                       f"unknown symbol(s) {', '.join(unknown)}; nothing was changed")
            return None
        return names

    def handle(self, ws: ServerConnection, text: str | bytes) -> None:
        if isinstance(text, bytes):
            self.error(ws, "unsupported_binary", "binary frames are not part of protocol 1")
            return
        if len(text) > MAX_TEXT_BYTES or len(text.encode()) > MAX_TEXT_BYTES:
            self.error(ws, "message_too_large", "messages are at most 16 KiB")
            return
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            self.error(ws, "malformed_json", "not JSON")
            return
        if not isinstance(msg, dict):
            self.error(ws, "not_an_object", "a message is a JSON object")
            return
        kind = msg.get("type")
        if not isinstance(kind, str):
            self.error(ws, "missing_type", "no string `type` field")
            return
        allowed = CLIENT_FIELDS.get(kind)
        if allowed is None:
            self.error(ws, "unknown_type", f"unknown message type {json.dumps(kind)}")
            return
        extra = [k for k in msg if k != "type" and k not in allowed]
        if extra:
            self.error(ws, "unknown_field", f"unknown field {json.dumps(extra[0])}")
            return
        missing = [k for k in allowed if k not in msg]
        if missing:
            self.error(ws, "invalid_message", f"missing field {json.dumps(missing[0])}")
            return
        subs = self.clients.get(ws, set())
        if kind == "ping":
            ts = msg["ts"]
            if isinstance(ts, bool) or not isinstance(ts, (int, float)):
                self.error(ws, "invalid_message", "ts must be a number")
                return
            self.send(ws, dumps({"type": "pong", "ts": float(ts), "server_time": now_ms()}))
        elif kind == "subscribe":
            names = self.parse_list(ws, msg["symbols"])
            if names is None:
                return
            new = [s for s in names if s not in subs]
            # Snapshot and registration happen in the same synchronous step: no tick can slip
            # in between, so the next tick this client gets is quote.seq + 1.
            for s in new:
                self.snapshot(ws, s, reset=False)
            self._set_subs(ws, subs | set(new))
        elif kind == "unsubscribe":
            names = self.parse_list(ws, msg["symbols"])
            if names is None:
                return
            self._set_subs(ws, subs - set(names))
            self.send(ws, dumps({"type": "unsubscribed", "symbols": names}))
        elif kind == "resume":
            last_seq = msg["last_seq"]
            if (not isinstance(msg["instance_id"], str) or not isinstance(last_seq, dict)
                    or not last_seq or len(last_seq) > MAX_LIST
                    or any(isinstance(v, bool) or not isinstance(v, int) or v < 0
                           for v in last_seq.values())):
                self.error(ws, "invalid_message", "resume needs instance_id and last_seq")
                return
            names = self.parse_list(ws, list(last_seq))
            if names is None:
                return
            # No history here: every resume is answered with a reset snapshot.
            for s in names:
                self.snapshot(ws, s, reset=True)
            self._set_subs(ws, subs | set(names))

    async def connection(self, ws: ServerConnection) -> None:
        t = now_ms()
        self.send(ws, dumps({
            "type": "hello", "protocol_version": PROTOCOL_VERSION,
            "instance_id": self.instance_id, "started_at": self.started_at, "server_time": t,
            "heartbeat_interval_ms": int(self.args.heartbeat_interval * 1000),
            "intervals": [], "symbols": [s.info for s in self.symbols.values()],
        }))
        self.clients[ws] = set()
        try:
            async for text in ws:
                self.handle(ws, text)
        except websockets.ConnectionClosed:
            pass
        finally:
            self._remove(ws)

    # ---- the broadcast loop --------------------------------------------------------------

    def generate(self, now: float) -> list[dict]:
        ticks = []
        for s in self.symbols.values():
            if s.next_due < now - MAX_CATCH_UP_MS:
                s.next_due = now - MAX_CATCH_UP_MS
            while s.next_due <= now:
                ticks.append(s.trade(self.rng, s.next_due))
                s.next_due += self.gap_ms()
        return ticks

    async def broadcast_loop(self) -> None:
        period = self.args.loop_ms / 1000.0
        loop = asyncio.get_running_loop()
        next_wake = loop.time()
        while True:
            next_wake += period
            delay = next_wake - loop.time()
            if delay < 0:
                next_wake = loop.time()
                delay = 0
            await asyncio.sleep(delay)
            ticks = self.generate(time.time_ns() / 1_000_000)
            if not ticks or not self.clients:
                continue
            # Serialize each tick once; frames are built by joining the serialized ticks.
            order = [(tick["symbol"], dumps(tick)) for tick in ticks]
            if self.args.batch:
                for key, conns in self.groups.items():
                    if key == self.all_names:
                        parts = [t for _, t in order]
                    else:
                        parts = [t for s, t in order if s in key]
                    if parts:
                        broadcast(conns, '{"type":"ticks","ticks":[' + ",".join(parts) + "]}")
            else:
                for sym, text in order:
                    conns = self.by_symbol[sym]
                    if conns:
                        broadcast(conns, '{"type":"ticks","ticks":[' + text + "]}")


def on_off(text: str) -> bool:
    if text.lower() in ("on", "true", "1", "yes"):
        return True
    if text.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected on or off")


def positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("expected a positive number")
    return value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    p.add_argument("--symbols", type=int, default=30,
                   help="how many symbols: Ticker's catalogue first, then S030, S031, ... "
                        "(default 30, Ticker's whole catalogue)")
    p.add_argument("--tick-rate", type=positive_float, default=4.0,
                   help="average ticks per second per symbol; exponential (Poisson) spacing "
                        "like Ticker's (default 4)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    p.add_argument("--batch", type=on_off, default=True,
                   help="on: every tick generated in one loop iteration goes out as ONE ticks "
                        "message; off: one tick per message (default on)")
    p.add_argument("--loop-ms", type=positive_float, default=10.0,
                   help="broadcast loop period in ms (default 10)")
    p.add_argument("--heartbeat-interval", type=positive_float, default=5.0,
                   help="seconds between WebSocket pings (default 5, Ticker's)")
    p.add_argument("--heartbeat-timeout", type=positive_float, default=15.0,
                   help="seconds to wait for a pong before closing (default 15)")
    p.add_argument("--static-dir", default=None, help="ignored (the load generator passes it)")
    args = p.parse_args()
    if args.symbols < 1 or args.symbols > 1000:
        p.error("--symbols must be 1 to 1000")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**63)
    asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    peer = Peer(args)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
    async with serve(peer.connection, args.host, args.port,
                     compression=None,  # Ticker does not negotiate permessage-deflate
                     max_size=MAX_FRAME_BYTES,
                     ping_interval=args.heartbeat_interval,
                     ping_timeout=args.heartbeat_timeout) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"python websockets {websockets.__version__} peer listening on "
              f"{args.host}:{port} (ws://{args.host}:{port}/ws) symbols={args.symbols} "
              f"tick_rate={args.tick_rate} seed={args.seed} "
              f"batch={'on' if args.batch else 'off'} loop_ms={args.loop_ms}", flush=True)
        task = asyncio.create_task(peer.broadcast_loop())
        try:
            await stop
        except asyncio.CancelledError:
            pass
        task.cancel()
        # Leaving `serve` closes every connection with 1001.


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
