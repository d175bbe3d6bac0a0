// Figures for docs/PERFORMANCE.md "Browser calls": N browser phones in one
// Chromium, each answering a customer's call to its extension's DID, and
// the server's CPU (utime+stime of SB_PID from /proc) while they talk,
// against the same phones idle. Prints figures; asserts only that the
// calls were up (each customer hears its browser's tone).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, Phone, eventually } from './lib.mjs';
import { PHONE_ARGS, phonePage } from './phone-lib.mjs';

const N = Math.min(10, Number(process.env.PERF_CALLS || 8));
const PID = process.env.SB_PID;
const HZ = 100; // USER_HZ on Linux

let browser;
before(async () => {
  browser = await launch(PHONE_ARGS);
});
after(async () => {
  await browser?.close();
});

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}

async function cpuPercent(pid, ms) {
  const t0 = cpuTicks(pid);
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((cpuTicks(pid) - t0) / HZ / ((Date.now() - w0) / 1000)) * 100;
}

test(`CPU of ${N} concurrent browser calls`, async () => {
  assert.ok(PID, 'SB_PID is the server process');
  const exts = Array.from({ length: N }, (_, i) => String(1001 + i));
  const pages = [];
  for (const [i, ext] of exts.entries()) pages.push(await phonePage(browser, ext, 600 + 100 * i));
  const idle = await cpuPercent(PID, 10000);

  const calls = [];
  for (const [i, ext] of exts.entries()) {
    const customer = await Phone.customer('+3161111' + ext, 300);
    const call = await customer.dial('+3120123' + ext);
    const { dock } = pages[i];
    const line = dock.locator('[data-testid=phone-line]').first();
    await eventually(async () => assert.equal(await line.getAttribute('data-state'), 'ringing'), 10000);
    await line.locator('[data-testid=phone-answer]').click();
    await call.waitAnswered();
    calls.push(call);
  }
  for (const [i, call] of calls.entries()) assert.ok(await call.hears(600 + 100 * i), `call ${i + 1} carries its browser's tone`);
  const busy = await cpuPercent(PID, 10000);
  const per = (busy - idle) / N;
  console.log(
    `PERF browser calls: ${N} concurrent; server CPU idle (registered) ${idle.toFixed(1)} %, ` +
      `in calls ${busy.toFixed(1)} % of one core; ${per.toFixed(2)} % of a core per browser call ` +
      `→ about ${Math.floor(100 / per)} calls per core`,
  );
  for (const call of calls) await call.hangup();
  for (const p of pages) await p.page.context().close();
});
