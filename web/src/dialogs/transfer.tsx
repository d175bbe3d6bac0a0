// The transfer / consult dialog (SPEC D3, D4, C3, C6). openTransfer shows it
// for one call; the chosen target goes to the API's transfer or consult.

import { signal } from '@preact/signals';
import { useState } from 'preact/hooks';
import { Modal } from '../components/modal';
import { post } from '../api';
import { act } from '../session';
import { overlays } from '../pages/registry';

/** TransferRequest is what the dialog was opened for. */
export interface TransferRequest {
  callId: string;
  /** ringing: the call rings (redirect only); answered: blind or attended. */
  ringing: boolean;
  /** mode preselected: blind transfer or consult first (attended). */
  mode: 'blind' | 'consult';
}

export const transferRequest = signal<TransferRequest | null>(null);

export function openTransfer(r: TransferRequest) {
  transferRequest.value = r;
}

/** doTransfer sends the call (blind) or starts a consult (attended) to target. */
export async function doTransfer(r: TransferRequest, target: string, mode: 'blind' | 'consult'): Promise<boolean> {
  if (mode === 'consult' && !r.ringing) return act('Consult', () => post(`/api/calls/${r.callId}/consult`, { target }));
  return act('Transfer', () => post(`/api/calls/${r.callId}/transfer`, { target }));
}

function TransferDialog() {
  const r = transferRequest.value;
  const [target, setTarget] = useState('');
  const [mode, setMode] = useState<'blind' | 'consult'>(r?.mode ?? 'blind');
  if (!r) return null;
  const close = () => {
    transferRequest.value = null;
    setTarget('');
  };
  return (
    <Modal title={r.ringing ? 'Transfer the ringing call' : 'Transfer'} onClose={close}>
      <form
        class="transfer-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await doTransfer(r, target.trim(), r.ringing ? 'blind' : mode)) close();
        }}
      >
        <label>
          Extension, queue or number
          <input value={target} onInput={(e) => setTarget((e.target as HTMLInputElement).value)} autoFocus data-testid="transfer-target" />
        </label>
        {!r.ringing && (
          <div class="radio-row">
            <label class="check">
              <input type="radio" name="mode" checked={mode === 'consult'} onChange={() => setMode('consult')} data-testid="mode-consult" /> Attended (consult first)
            </label>
            <label class="check">
              <input type="radio" name="mode" checked={mode === 'blind'} onChange={() => setMode('blind')} data-testid="mode-blind" /> Unattended (blind)
            </label>
          </div>
        )}
        <div class="dialog-buttons">
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={!target.trim()} data-testid="transfer-submit">
            {mode === 'consult' && !r.ringing ? 'Consult' : 'Transfer'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

overlays.add(TransferDialog);
