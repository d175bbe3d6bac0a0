// Shared helpers of the console's browser tests. The Go test that runs a
// file (test/e2e/browser_test.go) starts Switchboard and the phone control
// service and passes their addresses in the environment.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const SB = process.env.SB_URL;
export const PHONES = process.env.PHONES_URL;
if (!SB || !PHONES) throw new Error('run through `go test ./test/e2e -run TestBrowser…` (SB_URL and PHONES_URL unset)');

/** launch starts headless Chromium the way this machine needs it (docs: TESTING.md). */
export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** newPage opens a fresh browser context (own cookies) at the console. */
export async function newPage(browser, { width = 1280, height = 720 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, baseURL: SB });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // A refused API call (401 before login, 403, 409 …) is logged by Chromium
  // as a failed resource; the console handles those. Script errors count.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push(m.text());
  });
  return page;
}

/** login logs in through the login page and waits for the live feed. */
export async function login(page, username, password) {
  await page.goto('/');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('[data-testid=login-submit]');
  await page.waitForSelector('[data-testid=connection]:has-text("Live")', { timeout: 10000 });
}

/** shot saves a screenshot under SCREENSHOT_DIR (docs/screenshots) when set. */
export async function shot(page, name, opts = {}) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name + '.png'), ...opts });
}

/** shotOf saves a screenshot of one element (a widget) like shot. */
export async function shotOf(locator, name) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await locator.screenshot({ path: join(dir, name + '.png') });
}

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const err = new Error(`${method} ${path}: ${res.status} ${data.error ?? data.message ?? text}`);
    err.status = res.status;
    err.code = data.code;
    throw err;
  }
  return data;
}

/** Api is a REST client logged in as one user (bearer token). */
export class Api {
  static async as(username, password) {
    const r = await call(SB, 'POST', '/api/login', { username, password });
    return new Api(r.token);
  }
  constructor(token) {
    this.token = token;
  }
  async req(method, path, body) {
    const res = await fetch(SB + path, {
      method,
      headers: { Authorization: 'Bearer ' + this.token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : {};
    if (!res.ok) {
      const err = new Error(`${method} ${path}: ${res.status} ${data.code}: ${data.message}`);
      err.status = res.status;
      err.code = data.code;
      throw err;
    }
    return data;
  }
  get(p) {
    return this.req('GET', p);
  }
  post(p, b = {}) {
    return this.req('POST', p, b);
  }
  put(p, b = {}) {
    return this.req('PUT', p, b);
  }
  patch(p, b = {}) {
    return this.req('PATCH', p, b);
  }
  del(p) {
    return this.req('DELETE', p);
  }
}

/** Phone is an in-repo SIP softphone driven through the phone control service. */
export class Phone {
  /**
   * create makes a phone: {user, password, register, tone}. An agent's
   * desk phone registers as its extension (password demo-<ext>); a
   * customer is an unregistered phone calling DIDs through the demo trunk.
   */
  static async create(opts) {
    const r = await call(PHONES, 'POST', '/phones', opts);
    return new Phone(r.id, opts.user);
  }
  static agent(ext, tone) {
    return Phone.create({ user: ext, password: 'demo-' + ext, register: true, tone });
  }
  static customer(number, tone) {
    return Phone.create({ user: number, register: false, tone });
  }
  constructor(id, user) {
    this.id = id;
    this.user = user;
  }
  async dial(target) {
    const r = await call(PHONES, 'POST', `/phones/${this.id}/dial`, { target });
    return new Call(r.call);
  }
  /** incoming waits for the next call ringing at this phone. */
  async incoming(timeoutMs = 10000) {
    const r = await call(PHONES, 'GET', `/phones/${this.id}/incoming?timeout_ms=${timeoutMs}`);
    const c = new Call(r.call);
    c.from = r.from;
    return c;
  }
}

/** Call is one call of a Phone. */
export class Call {
  constructor(id) {
    this.id = id;
  }
  answer() {
    return call(PHONES, 'POST', `/calls/${this.id}/answer`, {});
  }
  hangup() {
    return call(PHONES, 'POST', `/calls/${this.id}/hangup`, {});
  }
  hold() {
    return call(PHONES, 'POST', `/calls/${this.id}/hold`, {});
  }
  resume() {
    return call(PHONES, 'POST', `/calls/${this.id}/resume`, {});
  }
  tone(hz) {
    return call(PHONES, 'POST', `/calls/${this.id}/tone`, { hz });
  }
  waitAnswered(timeoutMs = 10000) {
    return call(PHONES, 'GET', `/calls/${this.id}/wait?for=answered&timeout_ms=${timeoutMs}`);
  }
  waitEnded(timeoutMs = 10000) {
    return call(PHONES, 'GET', `/calls/${this.id}/wait?for=ended&timeout_ms=${timeoutMs}`);
  }
  /** hears waits until the call's audio holds hz (true) or timeoutMs passed (false). */
  async hears(hz, timeoutMs = 5000) {
    const r = await call(PHONES, 'GET', `/calls/${this.id}/hears?hz=${hz}&timeout_ms=${timeoutMs}`);
    return r.hears;
  }
  /** hearsNow tells whether the last window of audio holds hz, without waiting. */
  async hearsNow(hz) {
    const r = await call(PHONES, 'GET', `/calls/${this.id}/hears?hz=${hz}&wait=0`);
    return r.hears;
  }
}

/** eventually retries f until it stops throwing or timeoutMs passed. */
export async function eventually(f, timeoutMs = 10000, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
