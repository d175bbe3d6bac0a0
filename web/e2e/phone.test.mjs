// The browser is the phone (issue 8; SPEC T1, C5, D1): agent 1001 logs in,
// turns the console's phone on (JsSIP over /sip, WebRTC), is rung by a
// customer calling the Support DID, answers in the browser, and each side
// hears the other's tone; hold and resume, a blind transfer to 1002's desk
// phone, a call dialled from the browser and hung up there; a supervisor's
// browser whispers (the agent's browser hears it, the customer does not);
// a refused microphone is explained.
//
// Each page's "microphone" in calls is an oscillator at its own pitch
// (window.__phoneTestToneHz, read by web/src/phone/phone.ts), since
// Chromium's fake microphone beeps at 400 Hz; tones are detected in the
// browser with an AnalyserNode on the remote stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, login, shot, Api, Phone, eventually } from './lib.mjs';
import { PHONE_ARGS, phonePage, hears, nextEvent } from './phone-lib.mjs';

let browser;
before(async () => {
  browser = await launch(PHONE_ARGS);
});
after(async () => {
  await browser?.close();
});

const line = (dock) => dock.locator('[data-testid=phone-line]').first();

async function setupSupport(admin) {
  // 1001 takes Support calls; the others are paused; no wrap-up time.
  await admin.patch('/api/queues/8000', { wrapup_time_s: 0 });
  for (const ext of ['1002', '1003', '1004', '1005']) await admin.put(`/api/queues/8000/members/${ext}`, { state: 'paused' });
  await admin.put('/api/queues/8000/members/1001', { state: 'logged_in' });
}

async function pressAvailable(page) {
  await page.click('[data-testid=status-button]');
  await page.click('[data-testid=status-available]');
  await eventually(async () => assert.match(await page.textContent('[data-testid=status-label]'), /Available/), 5000);
}

test('a Support call rings the browser: answer, two-way audio, hold, blind transfer to a desk phone; a call dialled from the browser and hung up there', async () => {
  const admin = await Api.as('admin', 'demo-admin');
  await setupSupport(admin);
  const { page, dock } = await phonePage(browser, '1001', 1000);
  await pressAvailable(page);
  await shot(page, 'phone-registered');

  // A customer calls the Support DID: the browser rings (the side panel opens by itself).
  const customer = await Phone.customer('+31622220001', 500);
  const call = await customer.dial('+31201230001');
  await eventually(async () => assert.equal(await line(dock).getAttribute('data-state'), 'ringing'), 10000);
  assert.match(await line(dock).locator('[data-testid=phone-remote]').textContent(), /31622220001/);
  await shot(page, 'phone-ringing');
  await line(dock).locator('[data-testid=phone-answer]').click();
  await call.waitAnswered();
  await eventually(async () => assert.equal(await line(dock).getAttribute('data-state'), 'active'), 5000);
  assert.ok(await call.hears(1000), 'the customer hears the agent in the browser');
  assert.ok(await hears(page, 500), 'the browser hears the customer');
  assert.equal(await hears(page, 2000, 1000), false, 'the detector is not fooled: nobody plays 2000 Hz');
  // The call shows in the API as 1001's, like a desk phone's call.
  await eventually(async () => assert.equal(await line(dock).getAttribute('data-call-state'), 'active'), 5000);
  const callId = await line(dock).getAttribute('data-call-id');
  assert.ok(callId, 'the line knows its API call');
  await eventually(async () => {
    const level = Number(await line(dock).locator('[data-testid=phone-level-remote]').getAttribute('data-level'));
    assert.ok(level > 20, `remote level meter moves (${level})`);
  }, 5000);
  await shot(page, 'phone-talking');

  // Hold through the API (the same action as for a desk phone): the customer no longer hears the agent.
  await line(dock).locator('[data-testid=phone-hold]').click();
  await eventually(async () => assert.equal(await line(dock).getAttribute('data-call-state'), 'held'), 5000);
  await eventually(async () => assert.equal(await call.hearsNow(1000), false, 'on hold the customer does not hear the agent'), 5000);
  await line(dock).locator('[data-testid=phone-resume]').click();
  await eventually(async () => assert.equal(await line(dock).getAttribute('data-call-state'), 'active'), 5000);
  assert.ok(await call.hears(1000), 'resumed: the customer hears the agent again');

  // Mute: the customer stops hearing the agent; unmute brings it back.
  await line(dock).locator('[data-testid=phone-mute]').click();
  await eventually(async () => assert.equal(await call.hearsNow(1000), false, 'muted: the customer does not hear the agent'), 5000);
  await line(dock).locator('[data-testid=phone-mute]').click();
  assert.ok(await call.hears(1000), 'unmuted');

  // Blind transfer to 1002 (Available, paused in Support) on a desk phone, from the browser's line.
  const a1002 = await Api.as('1002', 'demo-1002');
  await a1002.put('/api/me/agent', { status: 'available' });
  const desk1002 = await Phone.agent('1002', 1500);
  await line(dock).locator('[data-testid=phone-transfer]').click();
  const dialog = page.locator('[data-testid=transfer-dialog]');
  await dialog.waitFor();
  await page.click('[data-testid=mode-blind]');
  await page.locator('[data-testid=transfer-agent][data-extension="1002"]').click();
  await page.click('[data-testid=transfer-submit]');
  const atDesk = await desk1002.incoming();
  await atDesk.answer();
  assert.ok(await call.hears(1500), 'the customer talks to 1002 after the transfer');
  await eventually(async () => assert.equal(await dock.locator('[data-testid=phone-line][data-state=active]').count(), 0), 5000);
  await call.hangup();
  await atDesk.waitEnded();

  // Dialled from the browser: 1001 calls 1002's desk phone, both hear each other, the browser hangs up.
  await eventually(async () => assert.equal(await dock.locator('[data-testid=phone-line]').count(), 0), 8000);
  await dock.locator('[data-testid=phone-key-1]').click();
  await dock.locator('[data-testid=phone-number]').fill('1002');
  await dock.locator('[data-testid=phone-call]').click();
  const ring = await desk1002.incoming();
  assert.equal(ring.from, '1001');
  await eventually(async () => assert.equal(await line(dock).getAttribute('data-state'), 'calling'), 5000);
  await ring.answer();
  await eventually(async () => assert.equal(await line(dock).getAttribute('data-state'), 'active'), 5000);
  assert.ok(await ring.hears(1000), 'the desk phone hears the browser');
  assert.ok(await hears(page, 1500), 'the browser hears the desk phone');
  // It is 1001's call in My calls / the API like any other.
  const mine = await (await Api.as('1001', 'demo-1001')).get('/api/calls');
  assert.ok((mine.calls ?? mine).some((c) => c.from.number === '1001' && c.state === 'answered'), 'the browser call is 1001\'s call in the API');
  // The keypad sends RFC 4733 digits in the call: the server sees them as the caller's.
  const admin2 = await Api.as('admin', 'demo-admin');
  const digit = nextEvent(admin2, 'dtmf_received', (e) => e.data.digit === '5');
  await digit.ready;
  await line(dock).locator('[data-testid=phone-keypad]').click();
  await line(dock).locator('[data-testid=phone-dtmf-5]').click();
  assert.equal((await digit).data.party, 'caller');
  await line(dock).locator('[data-testid=phone-hangup]').click();
  await ring.waitEnded();
  await eventually(async () => assert.equal(await dock.locator('[data-testid=phone-line][data-state=active]').count(), 0), 5000);

  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a supervisor whispers from a second browser: the agent\'s browser hears it, the customer does not', async () => {
  const admin = await Api.as('admin', 'demo-admin');
  await setupSupport(admin);
  const agent = await phonePage(browser, '1001', 1000);
  await pressAvailable(agent.page);
  const sup = await phonePage(browser, '1010', 2000);

  const customer = await Phone.customer('+31622220002', 500);
  const call = await customer.dial('+31201230001');
  await eventually(async () => assert.equal(await line(agent.dock).getAttribute('data-state'), 'ringing'), 10000);
  await line(agent.dock).locator('[data-testid=phone-answer]').click();
  await call.waitAnswered();
  assert.ok(await call.hears(1000), 'the customer hears the agent');
  await eventually(async () => assert.ok(await line(agent.dock).getAttribute('data-call-id')), 5000);
  const callId = await line(agent.dock).getAttribute('data-call-id');

  // The supervisor whispers from their console session; their browser rings and they answer there.
  const res = await sup.page.evaluate(async (id) => {
    const r = await fetch(`/api/calls/${id}/monitor`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode: 'whisper' }) });
    return r.status;
  }, callId);
  assert.equal(res, 202);
  await eventually(async () => assert.equal(await line(sup.dock).getAttribute('data-state'), 'ringing'), 10000);
  await line(sup.dock).locator('[data-testid=phone-answer]').click();
  await eventually(async () => assert.equal(await line(sup.dock).getAttribute('data-state'), 'active'), 5000);
  assert.ok(await hears(agent.page, 2000), 'whisper: the agent\'s browser hears the supervisor');
  assert.ok(await hears(sup.page, 500), 'the supervisor\'s browser hears the customer');
  assert.ok(await hears(sup.page, 1000), 'the supervisor\'s browser hears the agent');
  assert.equal(await call.hears(2000, 2000), false, 'whisper: the customer does not hear the supervisor');
  await shot(agent.page, 'phone-whisper');

  // The supervisor leaves from their browser; the call goes on; the customer hangs up.
  await line(sup.dock).locator('[data-testid=phone-hangup]').click();
  assert.ok(await call.hears(1000), 'the customer still hears the agent');
  await eventually(async () => assert.equal(await hears(agent.page, 2000, 500), false, 'the whisper stopped'), 5000);
  await call.hangup();
  await eventually(async () => assert.equal(await agent.dock.locator('[data-testid=phone-line][data-state=active]').count(), 0), 5000);
  assert.deepEqual(agent.page.errors, []);
  assert.deepEqual(sup.page.errors, []);
  await agent.page.context().close();
  await sup.page.context().close();
});

test('the phone as a console widget: a refused microphone is explained, and the phone still registers', async () => {
  const api = await Api.as('1003', 'demo-1003');
  const doc = await api.post('/api/me/consoles', {
    name: 'Desk',
    layout: [{ id: 'p', type: 'phone', x: 0, y: 0, w: 4, h: 8, config: {} }],
  });
  const page = await newPage(browser);
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  await login(page, '1003', 'demo-1003');
  await page.goto(`/#/console/${doc.id}`);
  const w = page.locator('[data-testid=widget-phone]');
  await w.locator('[data-testid=phone-start]').click();
  const err = w.locator('[data-testid=phone-error]');
  await err.waitFor();
  assert.equal(await err.getAttribute('data-kind'), 'permission');
  assert.match(await err.textContent(), /not allowed to use the microphone/);
  await eventually(async () => assert.equal(await w.locator('[data-testid=phone-panel]').getAttribute('data-reg'), 'registered'), 10000);
  assert.equal(await page.locator('[data-testid=phone-button]').getAttribute('data-reg'), 'registered', 'the header shows the same phone');
  await shot(page, 'phone-widget-permission-denied');
  await page.context().close();
});
