"use client";
// React bindings for tether-ws (v2 facade), shipped as `tether-ws/react`.
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
  listeners: Set<() => void>;
  users: number;
  release: ReturnType<typeof setTimeout> | undefined;
}

/** Per-client state shared by every hook under one provider. */
class Store {
  status: Status;
  private statusListeners = new Set<() => void>();
  private topics = new Map<string, TopicEntry>();
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly client: Tether, readonly releaseMs: number) {
    this.status = client.status;
    client.onStatus((s) => {
      this.status = s;
      for (const l of this.statusListeners) l();
    });
  }

  subscribeStatus = (listener: () => void) => {
    this.statusListeners.add(listener);
    return () => void this.statusListeners.delete(listener);
  };

  getStatus = () => this.status;

  /** Takes a use of `topic`, subscribing on the wire for the first one. */
  acquire(topic: string): TopicEntry {
    let entry = this.topics.get(topic);
    if (!entry) {
      const listeners = new Set<() => void>();
      const created: TopicEntry = {
        sub: undefined as unknown as Subscription,
        last: undefined,
        event: undefined,
        listeners,
        users: 0,
        release: undefined,
      };
      created.sub = this.client.subscribe(topic, (p) => {
        created.last = p;
        for (const l of listeners) l();
      });
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
    this.client.connect();
  }

  /** The provider unmounted: close unless it mounts again at once. */
  dispose() {
    this.closeTimer = setTimeout(() => {
      for (const entry of this.topics.values()) {
        if (entry.release !== undefined) clearTimeout(entry.release);
      }
      this.topics.clear();
      this.client.free();
    }, 0);
  }
}

const TetherContext = createContext<Store | null>(null);

export interface TetherProviderProps {
  /** The server URL (`ws://` or `wss://`). */
  url: string;
  /** Client options; `autoConnect` is managed by the provider. */
  options?: TetherOptions;
  /** How long a topic's wire subscription outlives its last component (ms). */
  releaseMs?: number;
  children?: ReactNode;
}

/** Owns one Tether client for its subtree. `url` and `options` are read on mount. */
export function TetherProvider({
  url,
  options,
  releaseMs,
  children,
}: TetherProviderProps): ReactElement {
  // The client starts idle: StrictMode may render twice and drop one.
  const [store] = useState(
    () =>
      new Store(
        new Tether(url, { ...options, autoConnect: false }),
        releaseMs ?? DEFAULT_RELEASE_MS,
      ),
  );
  useEffect(() => {
    store.retain();
    return () => store.dispose();
  }, [store]);
  return createElement(TetherContext.Provider, { value: store }, children);
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
