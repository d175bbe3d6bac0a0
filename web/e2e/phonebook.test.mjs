// The phonebook widget (SPEC C3): the operator sees colleagues' live
// presence, picks up a call ringing at a colleague's phone, and sends
// another ringing call on to a third colleague.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, login, shot, Api, Phone, eventually } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// One desk phone per extension for the whole file (the phone service has
// no way to remove one, and two phones of an extension would both ring).
const tones = { 1001: 1000, 1002: 1500, 1003: 1700, 1004: 1800, 1009: 1200 };
const desks = new Map();
async function desk(ext) {
  if (!desks.has(ext)) desks.set(ext, await Phone.agent(ext, tones[ext]));
  return desks.get(ext);
}

/** presenceIs waits until the phonebook shows ext with presence p; on failure it says what the server says. */
async function presenceIs(page, ext, p) {
  try {
    await eventually(async () => assert.equal(await contact(page, ext).getAttribute('data-presence'), p), 5000);
  } catch (e) {
    const api = await Api.as('admin', 'demo-admin');
    const d = await api.get('/api/directory');
    const u = d.users.find((x) => x.extensions.some((n) => n.number === ext));
    const calls = await api.get('/api/calls');
    throw new Error(`${ext}: the phonebook shows ${await contact(page, ext).getAttribute('data-presence')}, want ${p}; the server says ${JSON.stringify(u?.extensions)}; calls ${JSON.stringify(calls)}`);
  }
}

/** contact is the phonebook row of extension ext. */
const contact = (page, ext) => page.locator(`[data-testid=pb-contact][data-extension="${ext}"]`);

async function operatorWithPhonebook() {
  const op = await newPage(browser);
  await login(op, '1009', 'demo-1009');
  await op.fill('[data-testid=new-console-name]', 'Phonebook');
  await op.click('[data-testid=new-console]');
  await op.waitForSelector('[data-testid=console-name]:has-text("Phonebook")');
  await op.click('[data-testid=add-widget]');
  await op.click('[data-testid=add-phonebook]');
  await op.click('[data-testid=widget-config-done]'); // follow everyone
  await op.waitForSelector('[data-testid=phonebook]');
  await op.click('[data-testid=save-layout]');
  await op.waitForSelector('[data-testid=notice-info]:has-text("Layout saved")');
  return op;
}

test('the operator picks up a call ringing at a colleague from the phonebook', async () => {
  const reception = await desk('1009');
  const desk1002 = await desk('1002');
  const desk1001 = await desk('1001');
  const op = await operatorWithPhonebook();

  // Registered phones are available, the others offline.
  await presenceIs(op, '1002', 'available');
  assert.equal(await contact(op, '1005').getAttribute('data-presence'), 'offline');
  assert.match(await contact(op, '1002').locator('[data-testid=pb-presence]').textContent(), /Available/);

  const call = await desk1001.dial('1002');
  const ringing = await desk1002.incoming();
  const row = contact(op, '1002');
  await presenceIs(op, '1002', 'ringing');
  await eventually(async () => assert.match(await row.textContent(), /← .*1001/, 'the caller shows at the ringing contact'), 5000);
  await shot(op, 'phonebook-ringing');

  await row.locator('[data-testid=pb-pickup]').click();
  const atReception = await reception.incoming();
  await ringing.waitEnded();
  await atReception.answer();
  assert.ok(await call.hears(1200), 'the caller hears the operator');
  assert.ok(await atReception.hears(1000), 'the operator hears the caller');
  // The operator is busy now; the colleague whose phone rang is available again.
  await presenceIs(op, '1002', 'available');
  await presenceIs(op, '1001', 'busy');
  assert.ok(await contact(op, '1001').locator('[data-testid=pb-call]').isDisabled(), 'a busy contact is not called');
  await call.hangup();
  await presenceIs(op, '1001', 'available');
  assert.deepEqual(op.errors, []);
  await op.context().close();
});

test('the operator sends a call ringing at a colleague on to another colleague', async () => {
  const desk1002 = await desk('1002');
  const desk1003 = await desk('1003');
  const desk1001 = await desk('1001');
  const op = await newPage(browser);
  await login(op, '1009', 'demo-1009');
  await op.click('.console-list a:has-text("Phonebook")');
  await op.waitForSelector('[data-testid=phonebook]');

  const call = await desk1001.dial('1002');
  const ringing = await desk1002.incoming();
  const row = contact(op, '1002');
  await presenceIs(op, '1002', 'ringing');
  await row.locator('[data-testid=pb-transfer]').click();
  const dialog = op.locator('[data-testid=transfer-dialog]');
  await dialog.waitFor();
  assert.equal(await dialog.locator('[data-testid=mode-blind]').count(), 0, 'a ringing call is only redirected');
  await op.fill('[data-testid=transfer-target]', 'Sanne');
  const target = dialog.locator('[data-testid=transfer-agent][data-extension="1003"]');
  await target.click();
  assert.match(await op.textContent('[data-testid=transfer-summary]'), /Redirect to/);
  await op.click('[data-testid=transfer-submit]');
  await dialog.waitFor({ state: 'detached' });
  await ringing.waitEnded();
  const at1003 = await desk1003.incoming();
  await at1003.answer();
  assert.ok(await call.hears(1700), 'the caller hears the colleague it was sent to');
  await call.hangup();
  assert.deepEqual(op.errors, []);
  await op.context().close();
});
