// SPIKE: what the wasm side calls on the facade, shared by every binding
// style. `R.w` is the wasm's API once loaded; `R.c` maps client numbers to
// Tether objects.
export const R = { w: null, c: new Map() };
const to = (c) => R.c.get(c);
export const status = (c, ...a) => to(c)?._status(...a);
export const sub = (c, topic, state, recovered, missed, error) =>
  to(c)?._sub(topic, state, recovered, missed, error);
export const failed = (c, key, error) => to(c)?._failed(key, error);
export const token = (c, sid) => to(c)?._token(sid);
export const deliver = (c, verdict, data) => to(c)?._deliver(verdict, data);
