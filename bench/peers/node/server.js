#!/usr/bin/env node
// A quick Node `ws` broadcast server: a benchmark peer for Ticker.
//
// It speaks the subset of Ticker's wire protocol (docs/PROTOCOL.md) that the load generator
// uses, with the same JSON shapes, and is fed by an in-process tick generator. The shape is the
// classic `ws` broadcast pattern: the set of connected clients and one timer that serializes
// every tick once, encodes the frame text to a Buffer once, and calls the non-blocking
// `ws.send` on every subscriber (no per-client await; no backpressure either: a client that
// stops reading grows its `bufferedAmount` until the heartbeat terminates it).
//
//   node server.js --port 8080 --symbols 30 --tick-rate 4 --seed 1 --batch on
//
// See ../README.md for how it differs from Ticker.
'use strict';

const crypto = require('node:crypto');
const { parseArgs } = require('node:util');
const { WebSocketServer, WebSocket } = require('ws');
const WS_VERSION = require('ws/package.json').version;

const PROTOCOL_VERSION = 1;
// Ticker's limits: client text at most 16 KiB, frames at most 64 KiB, symbol lists 1..256.
const MAX_TEXT_BYTES = 16 * 1024;
const MAX_FRAME_BYTES = 64 * 1024;
const MAX_LIST = 256;
const SYMBOL_RE = /^[A-Z][A-Z0-9.-]{0,11}$/;
const CLIENT_FIELDS = {
  subscribe: ['symbols'],
  unsubscribe: ['symbols'],
  resume: ['instance_id', 'last_seq'],
  ping: ['ts'],
};

// Ticker's catalogue (server/src/catalogue.rs): symbol, name, previous close in cents,
// annualised volatility. `--symbols N` takes the first N; beyond 30, synthetic S030, S031, ...
const CATALOGUE = [
  ['AAPL', 'Apple Inc.', 23045, 0.26],
  ['MSFT', 'Microsoft Corp.', 42310, 0.24],
  ['NVDA', 'NVIDIA Corp.', 14180, 0.52],
  ['AMZN', 'Amazon.com Inc.', 20990, 0.33],
  ['GOOGL', 'Alphabet Inc. Class A', 17520, 0.3],
  ['META', 'Meta Platforms Inc.', 58240, 0.38],
  ['TSLA', 'Tesla Inc.', 34460, 0.6],
  ['BRK.B', 'Berkshire Hathaway Inc. Class B', 47120, 0.16],
  ['JPM', 'JPMorgan Chase & Co.', 24150, 0.22],
  ['V', 'Visa Inc.', 31080, 0.19],
  ['UNH', 'UnitedHealth Group Inc.', 52370, 0.27],
  ['XOM', 'Exxon Mobil Corp.', 11840, 0.24],
  ['JNJ', 'Johnson & Johnson', 15530, 0.16],
  ['WMT', 'Walmart Inc.', 8512, 0.18],
  ['MA', 'Mastercard Inc.', 52060, 0.2],
  ['PG', 'Procter & Gamble Co.', 17010, 0.15],
  ['HD', 'Home Depot Inc.', 40120, 0.23],
  ['COST', 'Costco Wholesale Corp.', 91875, 0.21],
  ['AVGO', 'Broadcom Inc.', 16990, 0.45],
  ['KO', 'Coca-Cola Co.', 6418, 0.14],
  ['PEP', 'PepsiCo Inc.', 15812, 0.16],
  ['ADBE', 'Adobe Inc.', 50140, 0.34],
  ['NFLX', 'Netflix Inc.', 88215, 0.4],
  ['AMD', 'Advanced Micro Devices Inc.', 13975, 0.5],
  ['CRM', 'Salesforce Inc.', 33060, 0.33],
  ['INTC', 'Intel Corp.', 2214, 0.48],
  ['DIS', 'Walt Disney Co.', 11230, 0.27],
  ['NKE', 'Nike Inc. Class B', 7615, 0.31],
  ['BA', 'Boeing Co.', 15540, 0.36],
  ['PFE', 'Pfizer Inc.', 2603, 0.25],
];
const TRADING_YEAR_MS = 252 * 6.5 * 3600000;
const SPREAD_BPS = 1.5;
const MEDIAN_TRADE_SIZE = 120;
const TRADE_SIZE_SIGMA = 1.0;
const ROUND_LOT_SHARE = 0.6;
const MAX_TRADE_SIZE = 50000;
// If the loop falls further behind than this, the schedule skips ahead instead of bursting.
const MAX_CATCH_UP_MS = 1000;

// ---- command line ----------------------------------------------------------------------------

const USAGE = `usage: node server.js [--host 127.0.0.1] [--port 8080] [--symbols 30] [--tick-rate 4]
                      [--seed N] [--batch on|off] [--loop-ms 10]
                      [--heartbeat-interval 5] [--heartbeat-timeout 15]

  --symbols N          how many symbols: Ticker's catalogue first, then S030, S031, ... (default 30)
  --tick-rate R        average ticks per second per symbol; exponential (Poisson) spacing
                       like Ticker's (default 4)
  --seed N             random seed (default: random, printed)
  --batch on|off       on: every tick generated in one timer tick goes out as ONE ticks
                       message; off: one tick per message (default on)
  --loop-ms MS         broadcast timer period in ms (default 10)
  --heartbeat-interval seconds between WebSocket pings (default 5, Ticker's)
  --heartbeat-timeout  seconds without any frame from a client before it is dropped (default 15)
  --static-dir DIR     ignored (the load generator passes it)`;

function fail(message) {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseCli() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8080' },
        symbols: { type: 'string', default: '30' },
        'tick-rate': { type: 'string', default: '4' },
        seed: { type: 'string' },
        batch: { type: 'string', default: 'on' },
        'loop-ms': { type: 'string', default: '10' },
        'heartbeat-interval': { type: 'string', default: '5' },
        'heartbeat-timeout': { type: 'string', default: '15' },
        'static-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const positive = (name) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v <= 0) fail(`--${name} must be a positive number`);
    return v;
  };
  const int = (name, lo, hi) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < lo || v > hi) fail(`--${name} must be an integer ${lo}..${hi}`);
    return v;
  };
  const batch = String(values.batch).toLowerCase();
  if (!['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'].includes(batch)) fail('--batch on|off');
  return {
    host: values.host,
    port: int('port', 0, 65535),
    symbols: int('symbols', 1, 1000),
    tickRate: positive('tick-rate'),
    seed: values.seed === undefined ? crypto.randomInt(2 ** 47) : int('seed', 0, Number.MAX_SAFE_INTEGER),
    batch: ['on', 'true', '1', 'yes'].includes(batch),
    loopMs: positive('loop-ms'),
    heartbeatInterval: positive('heartbeat-interval'),
    heartbeatTimeout: positive('heartbeat-timeout'),
  };
}

// ---- a small seeded PRNG (sfc32 seeded by splitmix32) -----------------------------------------

function makeRng(seed) {
  let s = (seed % 2 ** 32) >>> 0;
  let t = Math.floor(seed / 2 ** 32) >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9 + t) | 0;
    t = 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let r = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    r = (r + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  let spare = null;
  return {
    random: next,
    // Standard normal by Box-Muller.
    gauss() {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const r = Math.sqrt(-2 * Math.log(u));
      const th = 2 * Math.PI * next();
      spare = r * Math.sin(th);
      return r * Math.cos(th);
    },
    exp(rate) {
      let u = 0;
      while (u === 0) u = next();
      return -Math.log(u) / rate;
    },
  };
}

// ---- the simulated market --------------------------------------------------------------------

class Instrument {
  constructor(symbol, name, close, vol, start) {
    this.symbol = symbol;
    this.info = { symbol, name, tick_size: 1, reference_price: close };
    this.vol = vol;
    this.mid = close;
    this.seq = 0;
    this.open = this.high = this.low = 0;
    this.volume = 0;
    this.lastTs = start;
    this.nextDue = start;
    this.lastTick = null;
  }

  trade(rng, ts) {
    const dtMs = Math.max(ts - this.lastTs, 1);
    const dtYears = dtMs / TRADING_YEAR_MS;
    const logReturn = -0.5 * this.vol * this.vol * dtYears + this.vol * Math.sqrt(dtYears) * rng.gauss();
    this.mid = Math.max(this.mid * Math.exp(logReturn), 1);
    this.lastTs = ts;
    const spread = Math.max(Math.round((this.mid * SPREAD_BPS) / 10000), 1);
    const bid = Math.floor(this.mid - spread / 2);
    const ask = bid + spread;
    const price = logReturn >= 0 ? ask : bid;
    const raw = Math.min(
      Math.max(Math.exp(Math.log(MEDIAN_TRADE_SIZE) + TRADE_SIZE_SIGMA * rng.gauss()), 1),
      MAX_TRADE_SIZE,
    );
    const size = rng.random() < ROUND_LOT_SHARE ? Math.max(Math.round(raw / 100) * 100, 100) : Math.round(raw);
    if (this.seq === 0) {
      this.open = this.high = this.low = price;
    } else {
      this.high = Math.max(this.high, price);
      this.low = Math.min(this.low, price);
    }
    this.volume += size;
    this.seq += 1;
    // Field order is Ticker's (shared/tests/fixtures/server_ticks.json); `ts` is the trade's
    // scheduled time, as Ticker's is, so latency includes the wait for the broadcast loop.
    const tick = {
      symbol: this.symbol, seq: this.seq, ts: Math.round(ts), price, size, bid, ask,
      open: this.open, high: this.high, low: this.low, volume: this.volume,
    };
    this.lastTick = tick;
    return tick;
  }
}

// ---- the server ------------------------------------------------------------------------------

const opts = parseCli();
const rng = makeRng(opts.seed);
const instanceId = crypto.randomBytes(8).toString('hex');
const startedAt = Date.now();
const gapMs = () => rng.exp(opts.tickRate / 1000);

const symbols = new Map();
for (let i = 0; i < opts.symbols; i++) {
  let entry = CATALOGUE[i];
  if (!entry) {
    const n = String(i).padStart(3, '0');
    entry = [`S${n}`, `Synthetic ${n}`, 1000 + Math.floor(rng.random() * 99000), 0.3];
  }
  const inst = new Instrument(entry[0], entry[1], entry[2], entry[3], startedAt);
  inst.nextDue = startedAt + gapMs();
  symbols.set(inst.symbol, inst);
}
const allNames = [...symbols.keys()];
const ALL_KEY = allNames.join(',');

// Connected clients and what each is subscribed to (ws.subs, a Set).
const clients = new Set();
// Batch off: subscribers per symbol. Batch on: clients grouped by identical subscription (with
// `*` everybody shares one group), so each group's frame is built once.
const bySymbol = new Map(allNames.map((s) => [s, new Set()]));
const groups = new Map(); // key (sorted names joined by ',') -> { names: Set, conns: Set }

function groupKey(subs) {
  if (subs.size === symbols.size) return ALL_KEY;
  return [...subs].sort().join(',');
}

function setSubs(ws, subs) {
  const old = ws.subs;
  if (old.size) {
    const g = groups.get(ws.groupKey);
    if (g) {
      g.conns.delete(ws);
      if (g.conns.size === 0) groups.delete(ws.groupKey);
    }
  }
  for (const s of old) if (!subs.has(s)) bySymbol.get(s).delete(ws);
  for (const s of subs) if (!old.has(s)) bySymbol.get(s).add(ws);
  ws.subs = subs;
  ws.groupKey = null;
  if (subs.size) {
    const key = groupKey(subs);
    let g = groups.get(key);
    if (!g) {
      g = { names: new Set(subs), all: key === ALL_KEY, conns: new Set() };
      groups.set(key, g);
    }
    g.conns.add(ws);
    ws.groupKey = key;
  }
}

// Everything a connection gets goes through the same non-blocking `send`, so a snapshot is
// always followed by exactly the ticks after it.
function sendText(ws, text) {
  if (ws.readyState === WebSocket.OPEN) ws.send(text);
}

function sendError(ws, code, message) {
  sendText(ws, JSON.stringify({ type: 'error', code, message }));
}

function sendSnapshot(ws, sym, reset) {
  const quote = symbols.get(sym).lastTick;
  sendText(ws, JSON.stringify({ type: 'snapshot', symbol: sym, reset, quote, candles: {} }));
}

// serde_json writes an f64 with a fraction (`5.0`); JSON.stringify would write `5`.
function f64(value) {
  const text = JSON.stringify(value);
  return Number.isInteger(value) && /^-?\d+$/.test(text) ? `${text}.0` : text;
}

function parseList(ws, value) {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_LIST) {
    sendError(ws, 'invalid_message', 'symbols must be a list of 1 to 256 symbols');
    return null;
  }
  if (value.some((v) => typeof v !== 'string')) {
    sendError(ws, 'invalid_message', 'symbols must be strings');
    return null;
  }
  if (value.includes('*')) return allNames;
  const bad = value.find((v) => !SYMBOL_RE.test(v));
  if (bad !== undefined) {
    sendError(ws, 'invalid_message', `invalid symbol ${JSON.stringify(bad)}`);
    return null;
  }
  const names = [...new Set(value)];
  const unknown = names.filter((v) => !symbols.has(v));
  if (unknown.length) {
    sendError(ws, 'unknown_symbol', `unknown symbol(s) ${unknown.join(', ')}; nothing was changed`);
    return null;
  }
  return names;
}

function handle(ws, data, isBinary) {
  if (isBinary) return sendError(ws, 'unsupported_binary', 'binary frames are not part of protocol 1');
  if (data.length > MAX_TEXT_BYTES) return sendError(ws, 'message_too_large', 'messages are at most 16 KiB');
  let msg;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return sendError(ws, 'malformed_json', 'not JSON');
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return sendError(ws, 'not_an_object', 'a message is a JSON object');
  }
  const kind = msg.type;
  if (typeof kind !== 'string') return sendError(ws, 'missing_type', 'no string `type` field');
  const allowed = Object.hasOwn(CLIENT_FIELDS, kind) ? CLIENT_FIELDS[kind] : null;
  if (!allowed) return sendError(ws, 'unknown_type', `unknown message type ${JSON.stringify(kind)}`);
  const extra = Object.keys(msg).find((k) => k !== 'type' && !allowed.includes(k));
  if (extra !== undefined) return sendError(ws, 'unknown_field', `unknown field ${JSON.stringify(extra)}`);
  const missing = allowed.find((k) => !Object.hasOwn(msg, k));
  if (missing !== undefined) return sendError(ws, 'invalid_message', `missing field ${JSON.stringify(missing)}`);

  if (kind === 'ping') {
    if (typeof msg.ts !== 'number') return sendError(ws, 'invalid_message', 'ts must be a number');
    return sendText(ws, `{"type":"pong","ts":${f64(msg.ts)},"server_time":${Date.now()}}`);
  }
  if (kind === 'subscribe') {
    const names = parseList(ws, msg.symbols);
    if (!names) return;
    const subs = new Set(ws.subs);
    // Snapshot and registration happen in the same synchronous step: no tick can slip in
    // between, so the next tick this client gets is quote.seq + 1.
    for (const s of names) {
      if (subs.has(s)) continue;
      sendSnapshot(ws, s, false);
      subs.add(s);
    }
    return setSubs(ws, subs);
  }
  if (kind === 'unsubscribe') {
    const names = parseList(ws, msg.symbols);
    if (!names) return;
    const subs = new Set(ws.subs);
    for (const s of names) subs.delete(s);
    setSubs(ws, subs);
    return sendText(ws, JSON.stringify({ type: 'unsubscribed', symbols: names }));
  }
  if (kind === 'resume') {
    const last = msg.last_seq;
    if (
      typeof msg.instance_id !== 'string' || last === null || typeof last !== 'object' || Array.isArray(last) ||
      Object.keys(last).length === 0 || Object.keys(last).length > MAX_LIST ||
      Object.values(last).some((v) => !Number.isInteger(v) || v < 0)
    ) {
      return sendError(ws, 'invalid_message', 'resume needs instance_id and last_seq');
    }
    const names = parseList(ws, Object.keys(last));
    if (!names) return;
    // No history here: every resume is answered with a reset snapshot.
    const subs = new Set(ws.subs);
    for (const s of names) {
      sendSnapshot(ws, s, true);
      subs.add(s);
    }
    return setSubs(ws, subs);
  }
}

const wss = new WebSocketServer({
  host: opts.host,
  port: opts.port,
  maxPayload: MAX_FRAME_BYTES,
  perMessageDeflate: false, // Ticker does not negotiate permessage-deflate (ws's default too)
  clientTracking: false, // we keep our own set
});

const helloSymbols = [...symbols.values()].map((s) => s.info);

wss.on('connection', (ws) => {
  ws.subs = new Set();
  ws.groupKey = null;
  ws.lastSeen = Date.now();
  clients.add(ws);
  sendText(ws, JSON.stringify({
    type: 'hello',
    protocol_version: PROTOCOL_VERSION,
    instance_id: instanceId,
    started_at: startedAt,
    server_time: Date.now(),
    heartbeat_interval_ms: Math.round(opts.heartbeatInterval * 1000),
    intervals: [],
    symbols: helloSymbols,
  }));
  ws.on('message', (data, isBinary) => {
    ws.lastSeen = Date.now();
    handle(ws, data, isBinary);
  });
  ws.on('pong', () => {
    ws.lastSeen = Date.now();
  });
  ws.on('error', () => {}); // 'close' follows
  ws.on('close', () => {
    setSubs(ws, new Set());
    clients.delete(ws);
  });
});

// Heartbeat (the usual `ws` pattern): ping everybody every interval; drop a client that has sent
// no frame at all (pong included) for the timeout.
const heartbeat = setInterval(() => {
  const now = Date.now();
  for (const ws of clients) {
    if (now - ws.lastSeen > opts.heartbeatTimeout * 1000) {
      ws.terminate();
    } else if (ws.readyState === WebSocket.OPEN) {
      ws.ping();
    }
  }
}, opts.heartbeatInterval * 1000);

// ---- the broadcast loop ----------------------------------------------------------------------

function generate(now) {
  const ticks = [];
  for (const s of symbols.values()) {
    if (s.nextDue < now - MAX_CATCH_UP_MS) s.nextDue = now - MAX_CATCH_UP_MS;
    while (s.nextDue <= now) {
      ticks.push(s.trade(rng, s.nextDue));
      s.nextDue += gapMs();
    }
  }
  return ticks;
}

function broadcast(conns, text) {
  // Encode once; `ws` sends the same Buffer to every client as a text frame.
  const buf = Buffer.from(text);
  for (const ws of conns) {
    if (ws.readyState === WebSocket.OPEN) ws.send(buf, { binary: false });
  }
}

const loop = setInterval(() => {
  const ticks = generate(performance.timeOrigin + performance.now());
  if (ticks.length === 0 || clients.size === 0) return;
  // Serialize each tick once; frames are built by joining the serialized ticks.
  const texts = ticks.map((t) => JSON.stringify(t));
  if (opts.batch) {
    for (const g of groups.values()) {
      let parts = texts;
      if (!g.all) parts = texts.filter((_, i) => g.names.has(ticks[i].symbol));
      if (parts.length) broadcast(g.conns, `{"type":"ticks","ticks":[${parts.join(',')}]}`);
    }
  } else {
    for (let i = 0; i < ticks.length; i++) {
      const conns = bySymbol.get(ticks[i].symbol);
      if (conns.size) broadcast(conns, `{"type":"ticks","ticks":[${texts[i]}]}`);
    }
  }
}, opts.loopMs);

wss.on('listening', () => {
  const { address, port } = wss.address();
  console.log(
    `node ws ${WS_VERSION} peer listening on ${address}:${port} (ws://${address}:${port}/ws) ` +
      `symbols=${opts.symbols} tick_rate=${opts.tickRate} seed=${opts.seed} ` +
      `batch=${opts.batch ? 'on' : 'off'} loop_ms=${opts.loopMs}`,
  );
});
wss.on('error', (err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});

function shutdown() {
  clearInterval(loop);
  clearInterval(heartbeat);
  for (const ws of clients) ws.close(1001, 'server shutting down');
  wss.close();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
