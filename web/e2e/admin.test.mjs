// The admin pages (issue 6, SPEC X1, X2): an admin creates a queue with a
// member and a wrap-up code through the pages and the API has them; the
// API's validation errors show next to the field they name; the pages are
// refused to someone who is not an admin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, login, shot, Api, eventually } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an admin creates a queue with a member and a wrap-up code through the pages', async () => {
  const page = await newPage(browser);
  await login(page, 'admin', 'demo-admin');
  await page.click('.app-header nav a:has-text("Admin")');
  await page.click('[data-testid=admin-menu-queues]');
  await page.click('[data-testid=new-queue]');

  // A number the API refuses: its message shows next to the number field.
  await page.fill('[data-testid=queue-number]', '12');
  await page.fill('[data-testid=queue-name]', 'Billing');
  await page.click('[data-testid=queue-settings] [data-testid=save]');
  const numberError = page.locator('[data-field=number] [data-testid=field-error-number]');
  await numberError.waitFor();
  assert.match(await numberError.textContent(), /3 to 6 digits/);
  // An out-of-range setting: the API names the field, the page shows it there.
  await page.fill('[data-testid=queue-number]', '8200');
  await page.fill('[data-testid=queue-ring_time_s]', '9999');
  await page.click('[data-testid=queue-settings] [data-testid=save]');
  const ringError = page.locator('[data-field=ring_time_s] [data-testid=field-error-ring_time_s]');
  await ringError.waitFor();
  assert.match(await ringError.textContent(), /1 to 600/);
  assert.equal(await numberError.count(), 0, 'the fixed field no longer shows its error');
  await shot(page, 'admin-queue-field-error');

  await page.fill('[data-testid=queue-ring_time_s]', '15');
  await page.fill('[data-testid=queue-wrapup_time_s]', '30');
  await page.selectOption('[data-testid=queue-strategy]', 'longest_idle');
  await page.click('[data-testid=queue-settings] [data-testid=save]');
  await page.waitForURL(/#\/admin\/queues\/8200$/);
  await page.locator('[data-testid=queues-table-row][data-key="8200"]').waitFor();

  // A member with a penalty, then paused.
  await page.click('[data-testid=queue-tab-members]');
  await page.selectOption('[data-testid=member-add-extension]', '1006');
  await page.fill('[data-testid=member-add-penalty]', '3');
  await page.click('[data-testid=member-add]');
  const row = page.locator('[data-testid=member-row][data-member="1006"]');
  await row.waitFor();
  assert.equal(await page.inputValue('[data-testid=member-penalty-1006]'), '3');
  await page.selectOption('[data-testid=member-state-1006]', 'paused');
  // The penalty is changed in place (saved on Enter).
  await page.fill('[data-testid=member-penalty-1006]', '5');
  await page.press('[data-testid=member-penalty-1006]', 'Enter');

  // A wrap-up code; a second one with the same code is refused next to the code field.
  await page.click('[data-testid=queue-tab-wrapup]');
  await page.fill('[data-testid=wrapup-code]', 'paid');
  await page.fill('[data-testid=wrapup-label]', 'Invoice paid');
  await page.click('[data-testid=wrapup-add]');
  await page.locator('[data-testid=wrapup-row][data-code="paid"]').waitFor();
  await page.fill('[data-testid=wrapup-code]', 'paid');
  await page.click('[data-testid=wrapup-add]');
  await page.locator('[data-field=code] [data-testid=field-error-code]').waitFor();
  await shot(page, 'admin-queue-wrapup');

  // The API has it all.
  const api = await Api.as('admin', 'demo-admin');
  const q = await api.get('/api/queues/8200');
  assert.equal(q.name, 'Billing');
  assert.equal(q.strategy, 'longest_idle');
  assert.equal(q.ring_time_s, 15);
  assert.equal(q.wrapup_time_s, 30);
  await eventually(async () => assert.deepEqual((await api.get('/api/queues/8200')).members, [{ extension: '1006', penalty: 5 }]), 5000);
  const codes = await api.get('/api/queues/8200/wrapup-codes');
  assert.deepEqual(
    codes.wrapup_codes.map((c) => [c.code, c.label]),
    [['paid', 'Invoice paid']],
  );
  await eventually(async () => {
    const st = await api.get('/api/queues/8200/stats');
    assert.equal(st.members.find((m) => m.extension === '1006')?.state, 'paused');
  }, 5000);
  assert.deepEqual(page.errors, []);
});

test('user and extension forms show the API refusal at the field; delete asks first', async () => {
  const page = await newPage(browser);
  await login(page, 'admin', 'demo-admin');
  await page.goto('/#/admin/users/new');
  await page.fill('[data-testid=user-username]', 'newop');
  await page.fill('[data-testid=user-display-name]', 'New Operator');
  await page.selectOption('[data-testid=user-role]', 'operator');
  await page.fill('[data-testid=user-password]', 'short');
  await page.click('[data-testid=user-editor] [data-testid=save]');
  const pwError = page.locator('[data-field=password] [data-testid=field-error-password]');
  await pwError.waitFor();
  assert.match(await pwError.textContent(), /at least 8/);

  await page.fill('[data-testid=user-password]', 'long-enough-1');
  await page.click('[data-testid=check-can_outdial]'); // off
  await page.click('[data-testid=user-editor] [data-testid=save]');
  await page.waitForURL(/#\/admin\/users\/\d+$/);
  const id = Number(page.url().split('/').pop());
  const api = await Api.as('admin', 'demo-admin');
  const u = await api.get(`/api/users/${id}`);
  assert.equal(u.role, 'operator');
  assert.equal(u.profile.can_outdial, false);
  assert.equal(u.profile.can_keypad_dial, true);

  // The operator follows queue 8000.
  await page.click('[data-testid=follow-queue-8000]');
  await page.click('[data-testid=follows-editor] [data-testid=save]');
  await eventually(async () => assert.deepEqual((await api.get(`/api/users/${id}/follows`)).queues, ['8000']), 5000);

  // An extension for them with a SIP password that is too short.
  await page.click('[data-testid=admin-menu-extensions]');
  await page.click('[data-testid=new-extension]');
  await page.fill('[data-testid=ext-number]', '1099');
  await page.selectOption('[data-testid=ext-user]', String(id));
  await page.fill('[data-testid=ext-sip-password]', 'abc');
  await page.click('[data-testid=extension-editor] [data-testid=save]');
  await page.locator('[data-field=sip_password] [data-testid=field-error-sip_password]').waitFor();
  await page.fill('[data-testid=ext-sip-password]', 'sip-secret-1099');
  await page.click('[data-testid=extension-editor] [data-testid=save]');
  await page.waitForURL(/#\/admin\/extensions\/1099$/);
  assert.equal((await api.get('/api/extensions/1099')).user_id, id);

  // Delete asks first; cancelling keeps it.
  await page.click('[data-testid=extension-editor] [data-testid=delete]');
  await page.click('.modal button:has-text("Cancel")');
  await api.get('/api/extensions/1099');
  await page.click('[data-testid=extension-editor] [data-testid=delete]');
  await page.click('[data-testid=confirm-delete]');
  await page.waitForURL(/#\/admin\/extensions$/);
  await eventually(async () => assert.equal(await page.locator('[data-testid=extensions-table-row][data-key="1099"]').count(), 0), 5000);
  await assert.rejects(api.get('/api/extensions/1099'), (e) => e.status === 404);
  assert.deepEqual(page.errors, []);
});

test('someone who is not an admin sees no admin menu and the page refuses them', async () => {
  const page = await newPage(browser);
  await login(page, '1001', 'demo-1001');
  assert.equal(await page.locator('.app-header nav a:has-text("Admin")').count(), 0);
  await page.goto('/#/admin/users');
  await page.locator('.page-error:has-text("administrators")').waitFor();
  assert.equal(await page.locator('[data-testid=users-table]').count(), 0);
});
