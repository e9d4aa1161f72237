import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import wasm from "vite-plugin-wasm";

// The SDK is the bundler build of tether-ws (an ES module importing its
// .wasm); vite-plugin-wasm provides that import.
export default defineConfig({
  plugins: [react(), wasm()],
  // tether-ws is linked from ../pkg: resolve React from this app, once.
  resolve: { dedupe: ["react", "react-dom"] },
  build: { target: "esnext", outDir: "dist", emptyOutDir: true },
  server: {
    proxy: {
      "/ws": { target: "ws://127.0.0.1:8787", ws: true },
      "/topics": "http://127.0.0.1:8787",
      "/demo": "http://127.0.0.1:8787",
    },
  },
});
