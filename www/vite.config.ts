import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// No wasm plugin: tether-ws finds its tether.wasm with
// new URL("./tether.wasm", import.meta.url), which Vite emits as an asset.
export default defineConfig({
  plugins: [react()],
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  server: {
    proxy: {
      "/ws": { target: "ws://127.0.0.1:8787", ws: true },
      "/topics": "http://127.0.0.1:8787",
      "/demo": "http://127.0.0.1:8787",
    },
  },
});
