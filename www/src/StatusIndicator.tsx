// A connection indicator to copy into your app: one hook, no props needed
// beyond what to do on "retry now".
import { useEffect, useState } from "react";
import type { Status } from "tether-ws";
import { useConnectionStatus } from "tether-ws/react";

/** Re-renders every `ms` while `active`, for countdowns. */
function useTicker(active: boolean, ms: number) {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

function describe(s: Status): string {
  switch (s.state) {
    case "open":
      return s.rttMs == null ? "open" : `open · ${s.rttMs} ms`;
    case "connecting":
      return s.attempt > 0 ? `connecting (attempt ${s.attempt})` : "connecting";
    case "reconnecting": {
      const secs = s.nextRetryAt == null ? 0 : Math.max(0, Math.ceil((s.nextRetryAt - Date.now()) / 1000));
      return `reconnecting in ${secs} s (attempt ${s.attempt})`;
    }
    case "offline":
      return "offline";
    case "failed":
      return `failed: ${s.lastError ?? (s.lastClose ? `close ${s.lastClose.code} ${s.lastClose.reason}` : "unknown")}`;
    default:
      return s.state;
  }
}

export function StatusIndicator({ onRetry }: { onRetry: () => void }) {
  const status = useConnectionStatus();
  useTicker(status.state === "reconnecting", 250);
  return (
    <div className="status" data-state={status.state} data-attempt={status.attempt} role="status">
      <span className="dot" />
      <span className="label">{describe(status)}</span>
      {status.state !== "open" && (
        <button type="button" onClick={onRetry}>
          Retry now
        </button>
      )}
    </div>
  );
}
