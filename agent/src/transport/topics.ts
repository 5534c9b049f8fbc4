/**
 * The MQTT topic layout (docs/mqtt.md), in the spirit of thin-edge.io's API: one
 * versioned root, one subtree per device, one retained rollout document per
 * hardware type.
 */
import { OtaError } from '../errors/index.js';
import { DEFAULT_CHANNEL, checkChannelName } from '../formats/index.js';

/** The root every topic lives under; the version changes only with an incompatible layout. */
export const TOPIC_ROOT = 'ota/v1';

/** The topics of one device. */
export interface Topics {
  /** Retained status document (JSON), published by the device. */
  readonly status: string;
  /** Retained `online` / `offline`; `offline` is the LWT. */
  readonly availability: string;
  /** Signed update notices for this device, QoS 1, not retained. */
  readonly notice: string;
  /** Health round-trip: the device publishes a nonce here and sees it come back. */
  readonly ping: string;
  /** Retained current rollout document for the device's hardware and channel. */
  readonly rollout: string;
}

/**
 * The retained rollout topic of one hardware and channel: `ota/v1/rollout/<hardware>` for `stable` (the
 * topic agents without channels listen on), `ota/v1/rollout/<hardware>/<channel>` for any other channel.
 */
export function rolloutTopic(hardware: string, channel: string = DEFAULT_CHANNEL): string {
  const base = `${TOPIC_ROOT}/rollout/${checkLevel(hardware, 'hardware')}`;
  return channel === DEFAULT_CHANNEL ? base : `${base}/${checkLevel(checkChannelName(channel, 'channel'), 'channel')}`;
}

/** Whether `value` can be one topic level: non-empty, without `/`, `+`, `#` or NUL. */
export function isTopicLevel(value: string): boolean {
  return value.length > 0 && !/[/+#\u0000]/.test(value);
}

/** A topic level from config: non-empty, without `/`, `+`, `#` or NUL. */
export function checkLevel(value: string, what: string): string {
  if (!isTopicLevel(value)) {
    throw new OtaError('CONFIG_INVALID', `${what} "${value}" cannot be an MQTT topic level (empty, or has / + # NUL): fix the agent config`);
  }
  return value;
}

/** The topics of `deviceId` with hardware type `hardware`, following `channel`. */
export function topicsFor(deviceId: string, hardware: string, channel: string = DEFAULT_CHANNEL): Topics {
  const device = `${TOPIC_ROOT}/${checkLevel(deviceId, 'device id')}`;
  return {
    status: `${device}/status`,
    availability: `${device}/availability`,
    notice: `${device}/notice`,
    ping: `${device}/ping`,
    rollout: rolloutTopic(hardware, channel),
  };
}
