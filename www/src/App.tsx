import { useTether } from "tether-ws/react";
import { OutageControls } from "./OutageControls";
import { StatusIndicator } from "./StatusIndicator";
import { TopicPanel } from "./TopicPanel";

const TOPICS = ["miners", "alerts", "system", "metrics"];

export function App() {
  const client = useTether();
  return (
    <main>
      <header>
        <h1>Tether dashboard demo</h1>
        <StatusIndicator onRetry={() => client.reconnect()} />
        <OutageControls />
      </header>
      <section className="panels">
        {TOPICS.map((topic) => (
          <TopicPanel key={topic} topic={topic} />
        ))}
      </section>
    </main>
  );
}
