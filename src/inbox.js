// The receive path of one client, on the JS side of the wasm boundary.
//
// Each crossing into or out of wasm costs more than the JS work around it,
// and every string read into wasm is copied and re-encoded. So each inbound
// frame is parsed and classified here, and a publication in the epoch the
// core last confirmed for its topic crosses as two numbers (the topic's
// cursor and the offset): the core still decides (duplicates, liveness,
// recovery position), and the topic's callbacks are called from here. Any
// other frame goes to the client's callback whole. See `client::Route`.

// What the client's callback returns for a cursor-matched publication.
const DROP = 0;
const DELIVER = 1;

export class Inbox {
  // `route(tag, frame, cursor, offset)` is the client's callback.
  constructor(route) {
    this.route = route;
    // topic -> { cursor, epoch, ids, callbacks }. `ids`/`callbacks` are
    // replaced, never changed in place, so a delivery in progress keeps the
    // list it started with when a callback (un)subscribes.
    this.topics = new Map();
  }

  // The client's callback bound to `tag`: a socket, page or timer
  // callback, or a listener's remover. Goes through `this.route`, so after
  // `detach()` it does nothing.
  bind(tag) {
    return (arg) => this.route(tag, arg, NaN, NaN);
  }

  // The client is gone (`free()`): its callbacks must not reach it, and a
  // remover called now is a no-op.
  detach() {
    this.route = () => DROP;
  }

  // The socket's `onmessage`: `tag` routes a whole frame, `nextTag` a
  // cursor-matched publication, both for this socket.
  handler(tag, nextTag) {
    return (event) => this.receive(tag, nextTag, event.data);
  }

  receive(tag, nextTag, data) {
    let frame = data;
    if (typeof data === "string") {
      try {
        frame = JSON.parse(data);
      } catch {
        // Not JSON: the application gets the text.
      }
    }
    if (frame !== null && typeof frame === "object" && frame.type === "publication") {
      const topic = this.topics.get(frame.topic);
      const offset = frame.offset;
      if (
        topic !== undefined &&
        topic.cursor !== 0 &&
        frame.epoch === topic.epoch &&
        Number.isSafeInteger(offset) &&
        offset >= 0
      ) {
        const verdict = this.route(nextTag, undefined, topic.cursor, offset);
        if (verdict === DELIVER) deliver(topic.callbacks, frame);
        if (verdict === DROP || verdict === DELIVER) return;
        // Stale: the core moved on; it classifies the frame in full.
      }
    }
    this.route(tag, frame, NaN, NaN);
  }

  // Calls the callbacks of the frame's topic (a publication the core
  // accepted through the full path).
  deliver(frame) {
    const topic = this.topics.get(frame.topic);
    if (topic !== undefined) deliver(topic.callbacks, frame);
  }

  // The core's cursor and epoch for `topic`, after it classified one of
  // its frames in full.
  sync(topic, cursor, epoch) {
    const t = this.topics.get(topic);
    if (t !== undefined) {
      t.cursor = cursor;
      t.epoch = epoch;
    }
  }

  add(topic, id, callback) {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = { cursor: 0, epoch: undefined, ids: [], callbacks: [] };
      this.topics.set(topic, t);
    }
    t.ids = [...t.ids, id];
    t.callbacks = [...t.callbacks, callback];
  }

  remove(topic, id) {
    const t = this.topics.get(topic);
    const at = t === undefined ? -1 : t.ids.indexOf(id);
    if (at < 0) return;
    t.ids = t.ids.filter((_, i) => i !== at);
    t.callbacks = t.callbacks.filter((_, i) => i !== at);
    if (t.ids.length === 0) this.topics.delete(topic);
  }
}

// A listener that throws must not break the client or the other
// listeners: the exception is reported, not raised.
function deliver(callbacks, frame) {
  for (const callback of callbacks) {
    try {
      callback(frame);
    } catch (e) {
      console.error("tether-ws: a listener threw", e);
    }
  }
}
