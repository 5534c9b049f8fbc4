/**
 * `npm run demo -- --broker mqtt://127.0.0.1:PORT` against a real mosquitto: the
 * same release -> publish -> staged rollout -> commits and one automatic revert
 * as on the embedded broker, with the agents and the rollout controller on MQTT 5.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gate } from '../../support/skip.js';
import { haveMosquitto, startMosquitto } from '../../support/mosquitto.js';
import { assertCompletedStory, runDemo } from '../../support/demo-run.js';

const it = gate(haveMosquitto() ? undefined : 'missing mosquitto');

it('npm run demo -- --devices 4 --broker mosquitto: the failing device reverts on its own, the others commit v2, the delta is what is sent', async () => {
  const broker = await startMosquitto();
  try {
    const r = await runDemo(['--devices', '4', '--broker', broker.url]);
    assertCompletedStory(r, 4);
    assert.match(r.out, `external MQTT broker ${broker.url} (MQTT 5)`);
  } finally {
    await broker.stop();
  }
});

test.run();
