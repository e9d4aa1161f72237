"use client";
// React bindings for tether-ws, shipped as `tether-ws/react`.
// "use client" (the first line) marks it a client module for React Server
// Components: a Next.js server component importing it gets a client
// boundary instead of `createContext is not a function`.
//
// One client per <TetherProvider>. Hooks read it through
// useSyncExternalStore, so renders always see the current status and the
// latest publication, with stable subscribe/snapshot functions (no render
// loops). StrictMode's mount-unmount-mount and hot reload create no second
// socket: the provider closes its client only if it stays unmounted past a
// tick, and a topic's wire subscription outlives its last component by
// `releaseMs` so a remount reuses it.
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactElement,
  type ReactNode,
} from "react";
import {
  Tether,
  type Publication,
  type Status,
  type Subscription,
  type SubscriptionEvent,
  type TetherOptions,
} from "./index.js";

/** How long a topic's wire subscription outlives its last user. */
const DEFAULT_RELEASE_MS = 1000;

interface TopicEntry {
  sub: Subscription;
  last: Publication | undefined;
  event: SubscriptionEvent | undefined;
  /** Called on every change (publication or event): re-render requests. */
  listeners: Set<() => void>;
  /** Called with every publication, in order (useTopicLog, useSubscription). */
  receivers: Set<(p: Publication) => void>;
  users: number;
  release: ReturnType<typeof setTimeout> | undefined;
}

/** Per-client state shared by every hook under one provider. */
class Store {
  status: Status;
  private statusListeners = new Set<() => void>();
  private topics = new Map<string, TopicEntry>();
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  private offStatus: () => void;

  /** `owned`: the store made the client and frees it when disposed. */
  constructor(
    readonly client: Tether,
    readonly releaseMs: number,
    private owned: boolean,
  ) {
    this.status = client.status;
    this.offStatus = client.onStatus((s) => {
      this.status = s;
      for (const l of this.statusListeners) l();
    });
  }

  subscribeStatus = (listener: () => void) => {
    this.statusListeners.add(listener);
    return () => void this.statusListeners.delete(listener);
  };

  getStatus = () => this.status;

  /** Takes a use of `topic`, subscribing on the wire for the first one
   * (with `rewind`, if that first one asks for history). */
  acquire(topic: string, rewind?: number): TopicEntry {
    let entry = this.topics.get(topic);
    if (!entry) {
      const listeners = new Set<() => void>();
      const receivers = new Set<(p: Publication) => void>();
      const created: TopicEntry = {
        sub: undefined as unknown as Subscription,
        last: undefined,
        event: undefined,
        listeners,
        receivers,
        users: 0,
        release: undefined,
      };
      created.sub = this.client.subscribe(
        topic,
        (p) => {
          created.last = p;
          for (const r of receivers) r(p);
          for (const l of listeners) l();
        },
        rewind === undefined ? undefined : { rewind },
      );
      created.sub.onState((e) => {
        created.event = e;
        for (const l of listeners) l();
      });
      this.topics.set(topic, created);
      entry = created;
    }
    if (entry.release !== undefined) {
      clearTimeout(entry.release);
      entry.release = undefined;
    }
    entry.users += 1;
    return entry;
  }

  /** Gives a use back; the wire subscription goes `releaseMs` after the last. */
  release(topic: string) {
    const entry = this.topics.get(topic);
    if (!entry) return;
    entry.users -= 1;
    if (entry.users > 0) return;
    entry.release = setTimeout(() => {
      if (entry.users > 0) return;
      entry.sub.unsubscribe();
      this.topics.delete(topic);
    }, this.releaseMs);
  }

  /** The provider mounted (again): keep the client. */
  retain() {
    if (this.closeTimer !== undefined) {
      clearTimeout(this.closeTimer);
      this.closeTimer = undefined;
    }
    if (this.owned) this.client.connect();
  }

  /** The provider unmounted: let go unless it mounts again at once. A
   * client the app passed in keeps running (only this store's
   * subscriptions and listener go). */
  dispose() {
    this.closeTimer = setTimeout(() => {
      for (const entry of this.topics.values()) {
        if (entry.release !== undefined) clearTimeout(entry.release);
        if (!this.owned) entry.sub.unsubscribe();
      }
      this.topics.clear();
      this.offStatus();
      if (this.owned) this.client.free();
    }, 0);
  }
}

const TetherContext = createContext<Store | null>(null);

/** Either a client the app made (`client`: not owned, never closed by
 * the provider) or what to make one from (`url` and `options`). */
export type TetherProviderProps = {
  /** How long a topic's wire subscription outlives its last component (ms). */
  releaseMs?: number;
  children?: ReactNode;
} & (
  | {
      /** The server URL (`ws://` or `wss://`), or several (server instances). A
       * changed URL (or list) replaces the client with one connected to it. */
      url: string | string[];
      /** Client options, read when the client is made; `autoConnect` is the provider's. */
      options?: TetherOptions;
      client?: undefined;
    }
  | {
      /** An existing client: the provider uses it and never closes it. */
      client: Tether;
      url?: undefined;
      options?: undefined;
    }
);

/** Gives its subtree one Tether client: `client`, or one it makes from `url`. */
export function TetherProvider(props: TetherProviderProps): ReactElement {
  const { client, url, options, releaseMs, children } = props;
  // A new client only for a new URL (compared by value: an inline array
  // is a new object on every render).
  const key = client ? null : JSON.stringify(url);
  const [held, setHeld] = useState(() => ({ key, client, store: makeStore(props) }));
  let store = held.store;
  if (held.key !== key || held.client !== client) {
    // The client starts idle: StrictMode may render twice and drop one.
    store = makeStore({ client, url, options, releaseMs } as TetherProviderProps);
    setHeld({ key, client, store });
  }
  useEffect(() => {
    store.retain();
    return () => store.dispose();
  }, [store]);
  return createElement(TetherContext.Provider, { value: store }, children);
}

function makeStore({ client, url, options, releaseMs }: TetherProviderProps): Store {
  const release = releaseMs ?? DEFAULT_RELEASE_MS;
  if (client) return new Store(client, release, false);
  return new Store(new Tether(url as string | string[], { ...options, autoConnect: false }), release, true);
}

function useStore(): Store {
  const store = useContext(TetherContext);
  if (!store) throw new Error("tether-ws/react: wrap your components in <TetherProvider>");
  return store;
}

/** The provider's client, for `send`, `request`, `reconnect`, ... */
export function useTether(): Tether {
  return useStore().client;
}

/** The live connection status; re-renders on every status change. */
export function useConnectionStatus(): Status {
  const store = useStore();
  return useSyncExternalStore(store.subscribeStatus, store.getStatus, store.getStatus);
}

export interface TopicState<T> {
  /** The latest publication received while mounted (or before, on the shared subscription). */
  last: Publication<T> | undefined;
  /** The last subscription event: state, recovered, missed, error. */
  event: SubscriptionEvent | undefined;
}

/**
 * The latest publication on `topic` and the subscription's last event.
 * Components using one topic share one wire subscription.
 */
export function useTopic<T = unknown>(topic: string): TopicState<T> {
  const store = useStore();
  // A new view (so a new subscribe function) only when the topic changes.
  const view = useMemo(() => new TopicView(store, topic), [store, topic]);
  const snapshot = useSyncExternalStore(view.subscribe, view.getSnapshot, view.getSnapshot);
  return snapshot as TopicState<T>;
}

/** Stable subscribe/getSnapshot functions for one component's use of a topic. */
class TopicView {
  private entry: TopicEntry | undefined;
  private snapshot: TopicState<unknown> = { last: undefined, event: undefined };

  constructor(
    private store: Store,
    private topic: string,
  ) {}

  subscribe = (onChange: () => void) => {
    const topic = this.topic;
    const entry = this.store.acquire(topic);
    this.entry = entry;
    entry.listeners.add(onChange);
    return () => {
      entry.listeners.delete(onChange);
      this.store.release(topic);
      if (this.entry === entry) this.entry = undefined;
    };
  };

  getSnapshot = (): TopicState<unknown> => {
    const entry = this.entry;
    const last = entry?.last;
    const event = entry?.event;
    if (last !== this.snapshot.last || event !== this.snapshot.event) {
      this.snapshot = { last, event };
    }
    return this.snapshot;
  };
}

export interface TopicLogOptions {
  /** Publications kept, the oldest dropped first (default 100). */
  limit?: number;
  /** History on load: the server's latest publications, up to this many,
   * come first (`subscribe`'s `rewind`). Applies when this hook makes the
   * provider's subscription to the topic (no other component holds it). */
  rewind?: number;
}

/** Default `limit` of useTopicLog. */
const DEFAULT_LOG_LIMIT = 100;

/**
 * Every publication on `topic` received while mounted, in order, the last
 * `limit` of them: none is lost when several arrive between two renders
 * (useTopic keeps only the latest). The array is a new frozen one after
 * each change, so it can be a dependency.
 */
export function useTopicLog<T = unknown>(topic: string, options?: TopicLogOptions): readonly Publication<T>[] {
  const store = useStore();
  const limit = options?.limit ?? DEFAULT_LOG_LIMIT;
  const rewind = options?.rewind;
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError("useTopicLog: limit must be a whole number >= 1");
  const view = useMemo(() => new LogView(store, topic, limit, rewind), [store, topic, limit, rewind]);
  return useSyncExternalStore(view.subscribe, view.getSnapshot, view.getSnapshot) as readonly Publication<T>[];
}

/** One component's log of a topic: a mutable buffer, a frozen copy per version. */
class LogView {
  private log: Publication[] = [];
  private version = 0;
  private snapshot: readonly Publication[] = Object.freeze([]);
  private seen = 0;

  constructor(
    private store: Store,
    private topic: string,
    private limit: number,
    private rewind: number | undefined,
  ) {}

  subscribe = (onChange: () => void) => {
    const topic = this.topic;
    const entry = this.store.acquire(topic, this.rewind);
    const receive = (p: Publication) => {
      this.log.push(p);
      if (this.log.length > this.limit) this.log.splice(0, this.log.length - this.limit);
      this.version += 1;
      onChange();
    };
    entry.receivers.add(receive);
    return () => {
      entry.receivers.delete(receive);
      this.store.release(topic);
    };
  };

  getSnapshot = (): readonly Publication[] => {
    if (this.seen !== this.version) {
      this.seen = this.version;
      this.snapshot = Object.freeze(this.log.slice());
    }
    return this.snapshot;
  };
}

/**
 * Calls `callback` once per publication on `topic`, in order, while
 * mounted. The subscription stays the same across renders: a new
 * `callback` (an inline function) is picked up without resubscribing.
 */
export function useSubscription<T = unknown>(topic: string, callback: (p: Publication<T>) => void): void {
  const store = useStore();
  const latest = useRef(callback);
  useEffect(() => {
    latest.current = callback;
  });
  useEffect(() => {
    const entry = store.acquire(topic);
    const receive = (p: Publication) => {
      try {
        latest.current(p as Publication<T>);
      } catch (e) {
        console.error("tether-ws/react: a useSubscription callback threw", e);
      }
    };
    entry.receivers.add(receive);
    return () => {
      entry.receivers.delete(receive);
      store.release(topic);
    };
  }, [store, topic]);
}

/**
 * Whole seconds until the next retry while reconnecting (never below 0),
 * else null. Re-renders once per second, and only while reconnecting.
 */
export function useRetryCountdown(): number | null {
  const status = useConnectionStatus();
  const at = status.state === "reconnecting" ? status.nextRetryAt : null;
  const [, tick] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (at === null) return;
    // Ticks when the whole number of seconds left changes, not every 1000 ms
    // from whenever the effect ran.
    let timer: ReturnType<typeof setTimeout>;
    const schedule = () => {
      const left = at - Date.now();
      if (left <= 0) return;
      timer = setTimeout(() => {
        tick();
        schedule();
      }, left % 1000 || 1000);
    };
    schedule();
    return () => clearTimeout(timer);
  }, [at]);
  return at === null ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
