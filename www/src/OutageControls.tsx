// Asks the demo server to misbehave, so a visitor can watch the indicator.
async function post(path: string) {
  await fetch(path, { method: "POST" }).catch(() => {});
}

export function OutageControls() {
  return (
    <div className="outage">
      <button type="button" onClick={() => post("/demo/drop")}>
        Drop all connections
      </button>
      <button type="button" onClick={() => post("/demo/restart")}>
        Restart server
      </button>
    </div>
  );
}
