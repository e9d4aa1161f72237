// A connection indicator to copy into your app: two hooks, no props needed
// beyond what to do on "retry now".
import type { Status } from "tether-ws";
import { useConnectionStatus, useRetryCountdown } from "tether-ws/react";

function describe(s: Status, retryIn: number | null): string {
  switch (s.state) {
    case "open":
      return s.rttMs == null ? "open" : `open · ${s.rttMs} ms`;
    case "connecting":
      return s.attempt > 0 ? `connecting (attempt ${s.attempt})` : "connecting";
    case "reconnecting":
      return `reconnecting in ${retryIn ?? 0} s (attempt ${s.attempt})`;
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
  // Whole seconds to the next retry, ticking once a second while reconnecting.
  const retryIn = useRetryCountdown();
  return (
    <div className="status" data-state={status.state} data-attempt={status.attempt} role="status">
      <span className="dot" />
      <span className="label">{describe(status, retryIn)}</span>
      {status.state !== "open" && (
        <button type="button" onClick={onRetry}>
          Retry now
        </button>
      )}
    </div>
  );
}
