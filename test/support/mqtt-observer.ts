/**
 * A plain mqtt.js client that watches topics and publishes like the fleet does,
 * for transport tests: collects every message and waits for one to match.
 */
import { connectAsync } from 'mqtt';
import type { MqttClient } from 'mqtt';

/** A message seen by the observer. */
export interface Seen { readonly topic: string; readonly text: string; readonly retain: boolean }

/** An observer connected to `url`, subscribed to `filter`. */
export class Observer {
  readonly seen: Seen[] = [];
  private waiters = new Set<() => void>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({ topic, text: payload.toString('utf8'), retain: packet.retain });
      for (const w of [...this.waiters]) w();
    });
  }

  /** Connect and subscribe. */
  static async open(url: string, filter = 'ota/v1/#'): Promise<Observer> {
    const client = await connectAsync(url, { reconnectPeriod: 0, clientId: `observer-${process.pid}-${Math.random().toString(16).slice(2)}` });
    const o = new Observer(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return o;
  }

  /** Resolve with the first message (seen already or later) that matches; reject after `timeoutMs`. */
  waitFor(match: (m: Seen) => boolean, timeoutMs = 10_000, from = 0): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = this.seen.slice(from).find(match);
        if (hit !== undefined) { done(); resolve(hit); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no matching message within ${timeoutMs} ms; seen: ${JSON.stringify(this.seen.slice(-5))}`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** Publish like the fleet. */
  async publish(topic: string, payload: string, options: { retain?: boolean } = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain: options.retain ?? false });
  }

  /** Disconnect. */
  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * The topics under `prefix` (e.g. `ota/v1/rollout`) that hold a retained message: a fresh
 * subscriber gets them, fenced by a marker it publishes after subscribing (the broker sends
 * retained messages on subscribe, before anything published later).
 */
export async function retainedTopics(url: string, prefix: string): Promise<string[]> {
  const marker = `${prefix}/retained-fence-${process.pid}`;
  const o = await Observer.open(url, `${prefix}/#`);
  try {
    await o.publish(marker, 'm');
    await o.waitFor((m) => m.topic === marker);
    return o.seen.map((m) => m.topic).filter((t) => t !== marker);
  } finally {
    await o.close();
  }
}
