// Reason codes (SPEC A2): what an agent picks when taking a break or
// working offline. The API creates and deletes them; a code is not edited.

import { useState } from 'preact/hooks';
import { del, post } from '../api';
import type { ReasonCode } from '../types';
import type { SectionProps } from './admin';
import { DataTable, DeleteButton, Field, Form, Panel, SaveRow, Text, useResource, useSubmit } from './ui';

const kinds: [string, string][] = [
  ['break', 'Break'],
  ['offline', 'Working offline'],
];

export function ReasonCodesSection(_: SectionProps) {
  const codes = useResource('/api/reason-codes', (d) => (d.reason_codes ?? []) as ReasonCode[]);
  const [code, setCode] = useState('');
  const [label, setLabel] = useState('');
  const [kind, setKind] = useState('break');
  const { error, busy, run } = useSubmit();
  return (
    <div class="admin-section">
      <div class="section-head">
        <h1>Reason codes</h1>
      </div>
      {codes.error && <div class="form-error">{codes.error}</div>}
      <div class="admin-split">
        <div class="admin-list">
          {codes.data ? (
            <DataTable
              testid="reason-codes-table"
              rows={codes.data}
              rowKey={(c) => String(c.id)}
              columns={[
                { key: 'code', label: 'Code', value: (c) => c.code },
                { key: 'label', label: 'Label', value: (c) => c.label },
                { key: 'kind', label: 'Kind', value: (c) => kinds.find(([k]) => k === c.kind)?.[1] ?? c.kind },
                {
                  key: 'del',
                  label: '',
                  value: () => '',
                  render: (c) => (
                    <DeleteButton
                      small
                      what={`reason code ${c.code}`}
                      onDelete={async () => {
                        await del(`/api/reason-codes/${c.id}`);
                        await codes.reload();
                      }}
                    />
                  ),
                },
              ]}
            />
          ) : (
            <div class="loading">Loading…</div>
          )}
        </div>
        <div class="admin-detail">
          <Panel title="New reason code" testid="reason-code-editor">
            <Form
              onSubmit={() =>
                run(async () => {
                  await post('/api/reason-codes', { code, label, kind });
                  setCode('');
                  setLabel('');
                  await codes.reload();
                })
              }
              error={error}
              fields={['code', 'label', 'kind']}
            >
              <div class="form-grid">
                <Field name="code" label="Code" hint="1 to 32 characters, e.g. lunch.">
                  <Text value={code} set={setCode} testid="reason-code" />
                </Field>
                <Field name="label" label="Label" hint="What the agent sees.">
                  <Text value={label} set={setLabel} testid="reason-label" />
                </Field>
                <Field name="kind" label="Kind">
                  <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)} data-testid="reason-kind">
                    {kinds.map(([k, l]) => (
                      <option key={k} value={k}>
                        {l}
                      </option>
                    ))}
                  </select>
                </Field>
              </div>
              <SaveRow busy={busy} label="Add reason code" />
            </Form>
          </Panel>
        </div>
      </div>
    </div>
  );
}
