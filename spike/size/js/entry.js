// A user entry: what an app imports (bundled by esbuild for the measure).
export { Tether, Subscription, ready } from "./facade.js";
