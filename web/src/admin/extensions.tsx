// Extensions (SPEC X1): the SIP accounts phones register with, their owner
// and SIP password (write-only: the server keeps only digests).

import { useState } from 'preact/hooks';
import { del, patch, post } from '../api';
import { go } from '../router';
import type { SectionProps } from './admin';
import { DataTable, DeleteButton, Field, Form, Panel, SaveRow, Text, useResource, useSaved, useSubmit, type AdminUser, type Extension } from './ui';

export function ExtensionsSection({ item }: SectionProps) {
  const exts = useResource('/api/extensions', (d) => (d.extensions ?? []) as Extension[]);
  const users = useResource('/api/users', (d) => (d.users ?? []) as AdminUser[]);
  const userName = (id: number | null) => {
    if (id == null) return '';
    const u = (users.data ?? []).find((x) => x.id === id);
    return u ? u.display_name || u.username : `#${id}`;
  };
  const sel = item === 'new' ? null : (exts.data ?? []).find((e) => e.number === item);
  return (
    <div class="admin-section">
      <div class="section-head">
        <h1>Extensions</h1>
        <span class="spacer" />
        <button class="primary" onClick={() => go('#/admin/extensions/new')} data-testid="new-extension">
          New extension
        </button>
      </div>
      {exts.error && <div class="form-error">{exts.error}</div>}
      <div class="admin-split">
        <div class="admin-list">
          {exts.data ? (
            <DataTable
              testid="extensions-table"
              rows={exts.data}
              rowKey={(e) => e.number}
              selected={item}
              onOpen={(e) => go(`#/admin/extensions/${e.number}`)}
              columns={[
                { key: 'number', label: 'Number', value: (e) => e.number },
                { key: 'name', label: 'Name', value: (e) => e.display_name },
                { key: 'user', label: 'User', value: (e) => userName(e.user_id) },
              ]}
            />
          ) : (
            <div class="loading">Loading…</div>
          )}
        </div>
        <div class="admin-detail">
          {(item === 'new' || sel) && (
            <ExtensionEditor
              key={item}
              ext={sel ?? null}
              users={users.data ?? []}
              onSaved={async (e) => {
                await exts.reload();
                if (!sel) go(`#/admin/extensions/${e.number}`);
              }}
              onDeleted={async () => {
                go('#/admin/extensions');
                await exts.reload();
              }}
            />
          )}
          {item && item !== 'new' && exts.data && !sel && <p class="empty">No such extension.</p>}
          {!item && <p class="empty">Choose an extension to edit, or create one.</p>}
        </div>
      </div>
    </div>
  );
}

function ExtensionEditor(props: { ext: Extension | null; users: AdminUser[]; onSaved: (e: Extension) => void; onDeleted: () => void }) {
  const x = props.ext;
  const [number, setNumber] = useState(x?.number ?? '');
  const [name, setName] = useState(x?.display_name ?? '');
  const [owner, setOwner] = useState(x?.user_id != null ? String(x.user_id) : '');
  const [password, setPassword] = useState('');
  const { error, busy, run } = useSubmit();
  const [saved, markSaved] = useSaved();
  const save = () =>
    run(async () => {
      const user_id = owner === '' ? null : Number(owner);
      let e: Extension;
      if (x) {
        const body: Record<string, unknown> = { display_name: name, user_id };
        if (password !== '') body.sip_password = password;
        e = await patch<Extension>(`/api/extensions/${x.number}`, body);
      } else {
        e = await post<Extension>('/api/extensions', { number, display_name: name, user_id, sip_password: password });
      }
      setPassword('');
      markSaved();
      props.onSaved(e);
    });
  return (
    <Panel title={x ? `Extension ${x.number}` : 'New extension'} testid="extension-editor">
      <Form onSubmit={save} error={error} fields={['number', 'display_name', 'user_id', 'sip_password']}>
        <div class="form-grid">
          <Field name="number" label="Number" hint="3 to 6 digits; extensions and queues share the numbers.">
            <Text value={number} set={setNumber} disabled={!!x} inputMode="numeric" testid="ext-number" autoFocus={!x} />
          </Field>
          <Field name="display_name" label="Display name">
            <Text value={name} set={setName} testid="ext-display-name" />
          </Field>
          <Field name="user_id" label="User">
            <select value={owner} onChange={(e) => setOwner((e.target as HTMLSelectElement).value)} data-testid="ext-user">
              <option value="">— nobody —</option>
              {props.users.map((u) => (
                <option key={u.id} value={String(u.id)}>
                  {u.display_name || u.username} ({u.username})
                </option>
              ))}
            </select>
          </Field>
          <Field name="sip_password" label={x ? 'New SIP password' : 'SIP password'} hint={x ? 'Leave empty to keep it. It is never shown.' : '8 to 128 characters; the phone registers with it.'}>
            <Text type="password" value={password} set={setPassword} testid="ext-sip-password" autoComplete="new-password" />
          </Field>
        </div>
        <SaveRow busy={busy} label={x ? 'Save' : 'Create extension'} saved={saved}>
          {x && (
            <DeleteButton
              what={`extension ${x.number}`}
              onDelete={async () => {
                await del(`/api/extensions/${x.number}`);
                props.onDeleted();
              }}
            />
          )}
        </SaveRow>
      </Form>
    </Panel>
  );
}
