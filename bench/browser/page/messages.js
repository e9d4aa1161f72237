// Realistic dashboard traffic, shared by the bench page (micro bench) and the
// Node publisher (end to end): 10 topics, 1000 distinct messages, each a
// topic, an event and a small data object of numbers and strings.
// Deterministic (seeded PRNG), so every run and every variant sees the same.

export const TOPICS = [
  "miners", "alerts", "system", "metrics", "pools",
  "blocks", "prices", "orders", "trades", "logs",
];
export const EPOCH = "e1";

function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;
const pad = (n, w) => String(n).padStart(w, "0");

function data(topic, i, r) {
  const miner = `m-${pad(Math.floor(r() * 500), 4)}`;
  switch (topic) {
    case "miners":
      return { miner_id: miner, hashrate_ths: round(90 + r() * 40, 2), temperature_c: round(55 + r() * 25, 1),
        fan_rpm: 3000 + Math.floor(r() * 3000), status: r() < 0.95 ? "ok" : "warn" };
    case "alerts":
      return { alert_id: `a-${pad(i, 6)}`, severity: ["info", "warning", "critical"][Math.floor(r() * 3)],
        message: `Fan speed low on ${miner}`, source: miner, acknowledged: false };
    case "system":
      return { cpu: round(r(), 3), mem_mb: 1024 + Math.floor(r() * 4096), uptime_s: 100000 + i * 7,
        load: [round(r() * 4, 2), round(r() * 4, 2), round(r() * 4, 2)] };
    case "metrics":
      return { name: ["shares_accepted", "shares_rejected", "blocks_found"][i % 3],
        value: Math.floor(r() * 1e6), unit: "count", tags: { pool: `eu${1 + (i % 3)}` } };
    case "pools":
      return { pool: `eu${1 + (i % 3)}`, hashrate_phs: round(10 + r() * 5, 3), workers: 200 + Math.floor(r() * 200),
        luck: round(0.8 + r() * 0.4, 3) };
    case "blocks":
      return { height: 870000 + i, hash: Math.floor(r() * 2 ** 52).toString(16).padStart(16, "0"),
        reward_btc: 3.125, found_by: `eu${1 + (i % 3)}` };
    case "prices": {
      const last = round(60000 + r() * 5000, 2);
      return { symbol: "BTC-USD", bid: round(last - 0.5, 2), ask: round(last + 0.5, 2), last,
        volume_24h: round(r() * 50000, 1) };
    }
    case "orders":
      return { order_id: `o-${pad(i, 7)}`, side: r() < 0.5 ? "buy" : "sell", qty: round(r() * 2, 4),
        price: round(60000 + r() * 5000, 2), status: "filled" };
    case "trades":
      return { trade_id: 1e6 + i, symbol: "BTC-USD", price: round(60000 + r() * 5000, 2),
        qty: round(r(), 5), side: r() < 0.5 ? "buy" : "sell" };
    default:
      return { level: r() < 0.9 ? "info" : "warn", msg: `worker ${miner} reconnected`, ts_ms: 1795860000000 + i * 13 };
  }
}

/** The 1000 distinct messages: [{topic, event, data}], topics drawn at random. */
export function messages(count = 1000, seed = 42) {
  const r = prng(seed);
  const out = [];
  for (let i = 0; i < count; i++) {
    const topic = TOPICS[Math.floor(r() * TOPICS.length)];
    out.push({ topic, event: `${topic}_update`, data: data(topic, i, r) });
  }
  return out;
}

/**
 * Publication frames (protocol v1 shape) for `reps` repetitions of the
 * messages: offsets increase by 1 per topic across repetitions (the SDK drops
 * an offset it has seen), timestamps 10 ms apart.
 */
export function publicationTexts(msgs, reps) {
  const offsets = new Map(TOPICS.map((t) => [t, 0]));
  const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
  const texts = [];
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      const offset = offsets.get(m.topic) + 1;
      offsets.set(m.topic, offset);
      texts.push(JSON.stringify({
        type: "publication", topic: m.topic, event: m.event, epoch: EPOCH, offset,
        broadcast_id: `${m.topic}_${EPOCH}_${offset}`,
        timestamp: new Date(t0 + (rep * msgs.length + i) * 10).toISOString(),
        data: m.data,
      }));
    }
  }
  return texts;
}
