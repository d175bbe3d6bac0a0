// Helpers of the browser phone tests (phone.test.mjs, phone-reconnect.test.mjs).
import assert from 'node:assert/strict';
import { SB, newPage, login, eventually } from './lib.mjs';

/** PHONE_ARGS: Chromium with a fake microphone allowed, WebRTC on loopback, audio without a click. */
export const PHONE_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

/** phonePage logs user in with the browser phone's test tone at hz and turns the phone on. */
export async function phonePage(browser, user, hz, { init } = {}) {
  const page = await newPage(browser);
  await page.addInitScript((t) => (window.__phoneTestToneHz = t), hz);
  if (init) await page.addInitScript(init);
  await login(page, user, 'demo-' + user);
  await page.click('[data-testid=phone-button]');
  const dock = page.locator('[data-testid=phone-dock]');
  await dock.locator('[data-testid=phone-start]').click();
  await eventually(async () => assert.equal(await dock.locator('[data-testid=phone-panel]').getAttribute('data-reg'), 'registered'), 10000);
  return { page, dock };
}

/**
 * hears tells whether the browser's active call carries hz from the far end:
 * the FFT bin at hz stands 25 dB above the spectrum's median, within timeoutMs.
 */
export async function hears(page, hz, timeoutMs = 5000) {
  return page.evaluate(
    async ({ hz, timeoutMs }) => {
      const P = window.__switchboardPhone;
      const end = Date.now() + timeoutMs;
      let stream;
      while (!stream && Date.now() < end) {
        const l = P.lines.value.find((x) => x.state === 'active');
        stream = l && P.remoteStream(l.id);
        if (!stream) await new Promise((r) => setTimeout(r, 100));
      }
      if (!stream) return false;
      const c = P.ctx();
      const src = c.createMediaStreamSource(stream);
      const an = c.createAnalyser();
      an.fftSize = 4096;
      an.smoothingTimeConstant = 0.5;
      src.connect(an);
      const buf = new Float32Array(an.frequencyBinCount);
      const binHz = c.sampleRate / an.fftSize;
      try {
        while (Date.now() < end) {
          await new Promise((r) => setTimeout(r, 150));
          an.getFloatFrequencyData(buf);
          const k = Math.round(hz / binHz);
          let peak = -Infinity;
          for (let i = k - 2; i <= k + 2; i++) peak = Math.max(peak, buf[i]);
          const sorted = Array.from(buf.slice(5, Math.round(4000 / binHz))).sort((a, b) => a - b);
          const median = sorted[sorted.length >> 1];
          if (peak > -80 && peak - median > 25) return true;
        }
        return false;
      } finally {
        src.disconnect();
      }
    },
    { hz, timeoutMs },
  );
}


/**
 * nextEvent resolves with the first event of type matching pred on
 * GET /api/events (SSE) seen by api's user, or rejects after timeoutMs.
 * It is listening once the returned promise's `ready` resolved.
 */
export function nextEvent(api, type, pred = () => true, timeoutMs = 5000) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let ready;
  const readyP = new Promise((r) => (ready = r));
  const p = (async () => {
    try {
      const res = await fetch(SB + '/api/events', { headers: { Authorization: 'Bearer ' + api.token }, signal: ac.signal });
      ready();
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('');
          if (!data) continue;
          const e = JSON.parse(data);
          if (e.type === type && pred(e)) return e;
        }
      }
      throw new Error('event stream ended');
    } catch (e) {
      throw ac.signal.aborted ? new Error(`no ${type} event within ${timeoutMs} ms`) : e;
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
  })();
  p.ready = readyP;
  return p;
}
