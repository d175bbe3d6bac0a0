// The shapes the API sends (docs/API.md, /api/openapi.json).

export interface Party {
  kind: 'extension' | 'external' | string;
  number: string;
  name?: string;
}

export interface PartyInfo {
  id: string;
  role: 'caller' | 'callee' | 'consult' | 'member' | 'monitor' | string;
  number: string;
  name?: string;
  kind: string;
  extension?: string;
  held?: boolean;
  mode?: 'listen' | 'whisper' | 'barge' | string;
}

/** ConsultInfo: a consultation in progress; by and party are party IDs. */
export interface ConsultInfo {
  by: string;
  target: string;
  party?: string;
  state: 'ringing' | 'talking' | 'held' | string;
}

export interface Call {
  id: string;
  state: 'ringing' | 'answered' | 'held' | 'queued' | 'ended' | string;
  direction: 'inbound' | 'outbound' | 'internal' | string;
  from: Party;
  to: string;
  did?: string;
  target: string;
  answered_by?: string;
  held?: 'caller' | 'callee' | string;
  codec?: string;
  started_at: string;
  answered_at?: string;
  parties: PartyInfo[] | null;
  consult?: ConsultInfo;
  conference?: { initiator: string };
  transfer?: { target: string; by: string };
  recording?: { id: string; started_at: string; paused: boolean; auto_resume_at?: string };
  /** ringing: the agent extensions a queued call is offered to now. */
  ringing?: string[];
}

export interface User {
  id: number;
  username: string;
  display_name: string;
  role: 'admin' | 'supervisor' | 'operator' | 'agent' | string;
}

export interface Me {
  user: User;
  extensions: string[];
  profile: { can_outdial: boolean; can_keypad_dial: boolean; can_control_recording: boolean; allowed_anis: string[] };
  permissions?: string[];
  /** STUN/TURN servers for the browser phone (config webrtc.ice_servers). */
  ice_servers?: { urls: string[]; username?: string; credential?: string }[];
  [k: string]: unknown;
}

export interface Membership {
  queue: string;
  extension: string;
  agent_id: number;
  state: 'logged_in' | 'paused' | 'logged_out' | string;
  penalty: number;
  answered: number;
  name?: string;
  presence?: string;
  seconds_in_state?: number;
  call_id?: string;
  /** no_device: no registered phone, so the ACD offers this agent nothing. */
  no_device?: boolean;
}

export interface Agent {
  id: number;
  username: string;
  name: string;
  extensions: string[];
  status: 'available' | 'break' | 'offline' | 'logged_out' | string;
  reason_code?: string;
  status_since: string;
  state: 'idle' | 'offered' | 'busy' | 'wrap_up' | 'rona' | string;
  state_since: string;
  presence: string;
  presence_since: string;
  seconds_in_state: number;
  queues: Membership[];
  no_device?: boolean;
  [k: string]: unknown;
}

export interface QueueCallInfo {
  id: string;
  queue: string;
  caller_number: string;
  caller_name?: string;
  priority: number;
  state: 'waiting' | 'ringing' | 'answered' | 'abandoned' | 'overflowed' | string;
  position?: number;
  entered_at: string;
  wait_s: number;
  agents?: { id?: number; extension?: string; name?: string; [k: string]: unknown }[];
  offered_at?: string;
  answered_at?: string;
  talk_s?: number;
  destination?: string;
}

export interface QueueStats {
  queue: string;
  name: string;
  strategy: string;
  at: string;
  waiting: number;
  ringing: number;
  active: number;
  entered_last_hour: number;
  answered_last_hour: number;
  abandoned_last_hour: number;
  avg_wait_s: number;
  longest_wait_s: number;
  longest_call_s: number;
  service_level_s: number;
  agents_logged_in: number;
  agents_paused: number;
  agents_logged_out: number;
  agents_available: number;
  agents_busy: number;
  waiting_calls: QueueCallInfo[];
  ringing_calls: QueueCallInfo[];
  answered_calls: QueueCallInfo[];
  members: Membership[];
  [k: string]: unknown;
}

export interface ReasonCode {
  id: number;
  code: string;
  label: string;
  kind: 'break' | 'offline' | string;
}

/** BusEvent is one event of the stream (GET /api/events, the WebSocket). */
export interface BusEvent {
  seq: number;
  type: string;
  time: string;
  resource: string;
  data: any;
}
