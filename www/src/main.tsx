import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { TetherProvider } from "tether-ws/react";
import { App } from "./App";

const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <TetherProvider url={url} options={{ backoff: { initialMs: 500, maxMs: 8000 } }}>
      <App />
    </TetherProvider>
  </StrictMode>,
);
