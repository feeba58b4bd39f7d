// environment.test.mjs — the browser tests' tools are there: Debian's Chromium starts under
// playwright-core. Without them every browser test fails; this one says why and what to
// run (tools/setup.sh --test), as a plain failure rather than a cancelled hook.
import assert from 'node:assert/strict';
import { it } from 'node:test';

import { CHROMIUM, launchChromium } from './harness.mjs';

it(`Chromium (${CHROMIUM}) starts under playwright-core`, async () => {
  const browser = await launchChromium();
  try {
    assert.ok(browser.version(), 'the browser reports no version');
  } finally {
    await browser.close();
  }
});
