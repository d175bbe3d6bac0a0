// Trunks (SPEC T2, X1): the SIP providers calls come in from and go out
// through. The password is write-only: the API says only whether one is set.

import { useState } from 'preact/hooks';
import { del, patch, post } from '../api';
import { go } from '../router';
import type { SectionProps } from './admin';
import { Check, DataTable, DeleteButton, Field, Form, Panel, SaveRow, Text, lines, useResource, useSaved, useSubmit, type Trunk } from './ui';

export function TrunksSection({ item }: SectionProps) {
  const trunks = useResource('/api/trunks', (d) => (d.trunks ?? []) as Trunk[]);
  const sel = item === 'new' ? null : (trunks.data ?? []).find((t) => String(t.id) === item);
  return (
    <div class="admin-section">
      <div class="section-head">
        <h1>Trunks</h1>
        <span class="spacer" />
        <button class="primary" onClick={() => go('#/admin/trunks/new')} data-testid="new-trunk">
          New trunk
        </button>
      </div>
      {trunks.error && <div class="form-error">{trunks.error}</div>}
      <div class="admin-split">
        <div class="admin-list">
          {trunks.data ? (
            <DataTable
              testid="trunks-table"
              rows={trunks.data}
              rowKey={(t) => String(t.id)}
              selected={item}
              onOpen={(t) => go(`#/admin/trunks/${t.id}`)}
              columns={[
                { key: 'name', label: 'Name', value: (t) => t.name },
                { key: 'host', label: 'Host', value: (t) => `${t.host} (${t.transport})` },
                { key: 'out', label: 'Outbound', value: (t) => (t.outbound ? 'yes' : '') },
                { key: 'auth', label: 'Password', value: (t) => (t.has_password ? 'set' : '') },
              ]}
            />
          ) : (
            <div class="loading">Loading…</div>
          )}
        </div>
        <div class="admin-detail">
          {(item === 'new' || sel) && (
            <TrunkEditor
              key={item}
              trunk={sel ?? null}
              onSaved={async (t) => {
                await trunks.reload();
                if (!sel) go(`#/admin/trunks/${t.id}`);
              }}
              onDeleted={async () => {
                go('#/admin/trunks');
                await trunks.reload();
              }}
            />
          )}
          {item && item !== 'new' && trunks.data && !sel && <p class="empty">No such trunk.</p>}
          {!item && <p class="empty">Choose a trunk to edit, or create one.</p>}
        </div>
      </div>
    </div>
  );
}

function TrunkEditor(props: { trunk: Trunk | null; onSaved: (t: Trunk) => void; onDeleted: () => void }) {
  const t = props.trunk;
  const [name, setName] = useState(t?.name ?? '');
  const [host, setHost] = useState(t?.host ?? '');
  const [transport, setTransport] = useState(t?.transport ?? 'udp');
  const [username, setUsername] = useState(t?.username ?? '');
  const [password, setPassword] = useState('');
  const [clearPassword, setClearPassword] = useState(false);
  const [cidrs, setCidrs] = useState((t?.inbound_cidrs ?? []).join('\n'));
  const [outbound, setOutbound] = useState(t?.outbound ?? true);
  const { error, busy, run } = useSubmit();
  const [saved, markSaved] = useSaved();
  const save = () =>
    run(async () => {
      const body: Record<string, unknown> = { name, host, transport, username, inbound_cidrs: lines(cidrs), outbound };
      if (password !== '') body.password = password;
      else if (t && clearPassword) body.password = '';
      const out = t ? await patch<Trunk>(`/api/trunks/${t.id}`, body) : await post<Trunk>('/api/trunks', body);
      setPassword('');
      setClearPassword(false);
      markSaved();
      props.onSaved(out);
    });
  return (
    <Panel title={t ? `Trunk ${t.name}` : 'New trunk'} testid="trunk-editor">
      <Form onSubmit={save} error={error} fields={['name', 'host', 'transport', 'username', 'password', 'inbound_cidrs', 'outbound']}>
        <div class="form-grid">
          <Field name="name" label="Name">
            <Text value={name} set={setName} testid="trunk-name" autoFocus={!t} />
          </Field>
          <Field name="host" label="Host" hint="host:port, e.g. sip.example.net:5060">
            <Text value={host} set={setHost} testid="trunk-host" />
          </Field>
          <Field name="transport" label="Transport">
            <select value={transport} onChange={(e) => setTransport((e.target as HTMLSelectElement).value)} data-testid="trunk-transport">
              <option value="udp">UDP</option>
              <option value="tcp">TCP</option>
            </select>
          </Field>
          <Field name="username" label="Username">
            <Text value={username} set={setUsername} testid="trunk-username" />
          </Field>
          <Field
            name="password"
            label={t?.has_password ? 'New password' : 'Password'}
            hint={t?.has_password ? 'A password is set; it is never shown. Leave empty to keep it.' : 'Optional; never shown again.'}
          >
            <Text type="password" value={password} set={setPassword} testid="trunk-password" autoComplete="new-password" />
          </Field>
          <Field name="inbound_cidrs" label="Calls accepted from" hint="Networks, one per line (e.g. 203.0.113.0/24); empty: the host’s address.">
            <textarea rows={3} value={cidrs} onInput={(e) => setCidrs((e.target as HTMLTextAreaElement).value)} data-testid="trunk-cidrs" />
          </Field>
        </div>
        <Check name="outbound" label="Place outbound calls through this trunk" checked={outbound} set={setOutbound} />
        {t?.has_password && <Check name="clear_password" label="Remove the password" checked={clearPassword} set={setClearPassword} />}
        <SaveRow busy={busy} label={t ? 'Save' : 'Create trunk'} saved={saved}>
          {t && (
            <DeleteButton
              what={`trunk ${t.name}`}
              onDelete={async () => {
                await del(`/api/trunks/${t.id}`);
                props.onDeleted();
              }}
            />
          )}
        </SaveRow>
      </Form>
    </Panel>
  );
}
