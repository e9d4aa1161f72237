import { useEffect, useState } from "react";
import type { Publication } from "tether-ws";
import { useTopic, useTopicLog } from "tether-ws/react";

const ROWS = 6;

interface Row {
  key: string;
  offset: number;
  time: string;
  text: string;
}

function rowOf(p: Publication): Row {
  return {
    key: p.broadcast_id,
    offset: p.offset,
    time: p.timestamp.slice(11, 19),
    text: JSON.stringify(p.data),
  };
}

/** The latest publications of one topic, newest first, the last few kept
 * by the server shown at once on load (useTopicLog: none lost when several
 * arrive between renders); reloads the topic's history over REST when the
 * subscription reports that missed messages cannot be replayed. */
export function TopicPanel({ topic }: { topic: string }) {
  // First, so that its subscription (with the history on load) is the one
  // the provider makes for the topic.
  const log = useTopicLog(topic, { limit: ROWS, rewind: ROWS });
  const { last, event } = useTopic(topic);
  const [reloaded, setReloaded] = useState<Publication[]>([]);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    if (event?.recovered !== false) return;
    const abort = new AbortController();
    fetch(`/topics/${encodeURIComponent(topic)}/history?limit=${ROWS}`, { signal: abort.signal })
      .then((r) => (r.ok ? r.json() : null))
      .then((history: { publications: Publication[] } | null) => {
        setReloaded(history?.publications ?? []);
        setReloads((n) => n + 1);
      })
      .catch(() => {});
    return () => abort.abort();
  }, [event, topic]);

  const rows: Row[] = [];
  for (const p of [...log].reverse().concat([...reloaded].reverse())) {
    if (rows.length < ROWS && !rows.some((r) => r.key === p.broadcast_id)) rows.push(rowOf(p));
  }

  return (
    <article className="panel" data-topic={topic} data-state={event?.state ?? "pending"}>
      <h2>
        {topic} <small>{event?.state ?? "pending"}</small>
        {reloads > 0 && <small className="reloaded">reloaded over REST ×{reloads}</small>}
      </h2>
      {topic === "miners" && last && <MinerTable data={last.data} />}
      <ol>
        {rows.map((r) => (
          <li key={r.key} data-offset={r.offset}>
            <time>{r.time}</time> <code>{r.text}</code>
          </li>
        ))}
      </ol>
    </article>
  );
}

interface Miner {
  id: string;
  hashrate_ths: number;
  temp_c: number;
  status: string;
}

/** The latest miner readings as a table (the demo's `miners` payload). */
function MinerTable({ data }: { data: unknown }) {
  const miners = (data as { miners?: Miner[] } | null)?.miners;
  if (!Array.isArray(miners)) return null;
  return (
    <table className="miners">
      <thead>
        <tr><th>miner</th><th>TH/s</th><th>°C</th><th>status</th></tr>
      </thead>
      <tbody>
        {miners.map((m) => (
          <tr key={m.id} data-status={m.status}>
            <td>{m.id}</td><td>{m.hashrate_ths}</td><td>{m.temp_c}</td><td>{m.status}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
