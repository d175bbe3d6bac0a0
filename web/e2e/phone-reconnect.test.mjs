// The browser phone loses its connection (issue 8): the SIP WebSocket of a
// browser in a call closes; the call ends cleanly on both sides, the CDR
// says why (connection_lost), the panel says the connection was lost, and
// the phone re-registers by itself and is rung again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shot, Api, Phone, eventually } from './lib.mjs';
import { PHONE_ARGS, phonePage, hears } from './phone-lib.mjs';

let browser;
before(async () => {
  browser = await launch(PHONE_ARGS);
});
after(async () => {
  await browser?.close();
});

test('a browser that loses its connection ends its call cleanly and re-registers', async () => {
  const desk = await Phone.agent('1003', 500);
  const { page, dock } = await phonePage(browser, '1001', 1000, {
    // Keep hold of the page's WebSockets so the test can cut the SIP one, as a network drop would.
    init: () => {
      const W = window.WebSocket;
      window.__sockets = [];
      window.WebSocket = class extends W {
        constructor(...a) {
          super(...a);
          window.__sockets.push(this);
        }
      };
    },
  });
  const line = dock.locator('[data-testid=phone-line]').first();

  const call = await desk.dial('1001');
  await eventually(async () => assert.equal(await line.getAttribute('data-state'), 'ringing'), 10000);
  await line.locator('[data-testid=phone-answer]').click();
  await call.waitAnswered();
  assert.ok(await call.hears(1000), 'the desk phone hears the browser');
  assert.ok(await hears(page, 500), 'the browser hears the desk phone');

  // The SIP socket drops.
  const cut = await page.evaluate(() => {
    const s = window.__sockets.filter((w) => w.url.endsWith('/sip') && w.readyState === 1);
    s.forEach((w) => w.close());
    return s.length;
  });
  assert.equal(cut, 1, 'one open SIP socket');
  await call.waitEnded();
  await eventually(async () => assert.equal(await dock.locator('[data-testid=phone-error]').getAttribute('data-kind'), 'connection'), 5000);
  assert.equal(await dock.locator('[data-testid=phone-line][data-state=active]').count(), 0, 'the browser\'s call ended');
  await shot(page, 'phone-connection-lost');
  const admin = await Api.as('admin', 'demo-admin');
  await eventually(async () => {
    const { cdrs } = await admin.get('/api/cdrs?limit=5');
    assert.equal(cdrs[0]?.reason, 'connection_lost', `newest CDR ${JSON.stringify(cdrs[0])}`);
  }, 5000);

  // It comes back by itself and is rung again.
  await eventually(async () => assert.equal(await dock.locator('[data-testid=phone-panel]').getAttribute('data-reg'), 'registered'), 15000);
  assert.equal(await dock.locator('[data-testid=phone-error]').count(), 0, 'the error clears once registered');
  const again = await desk.dial('1001');
  await eventually(async () => assert.equal(await line.getAttribute('data-state'), 'ringing'), 10000);
  await line.locator('[data-testid=phone-answer]').click();
  await again.waitAnswered();
  assert.ok(await again.hears(1000), 'after re-registering, calls work again');
  await again.hangup();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
