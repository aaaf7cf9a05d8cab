/** Builders of SendMessageInput variables for tests. */
export interface SendInput {
  sender: string;
  mode: 'DIRECT' | 'BROADCAST' | 'TOPIC';
  target?: string | null;
  content: string;
  [field: string]: unknown;
}

let counter = 0;

export function directInput(
  sender: string,
  target: string,
  overrides: Partial<SendInput> = {},
): SendInput {
  counter += 1;
  return { sender, mode: 'DIRECT', target, content: `hello ${counter}`, ...overrides };
}

export function broadcastInput(sender: string, overrides: Partial<SendInput> = {}): SendInput {
  counter += 1;
  return { sender, mode: 'BROADCAST', content: `to all ${counter}`, ...overrides };
}

export function topicInput(
  sender: string,
  topic: string,
  overrides: Partial<SendInput> = {},
): SendInput {
  counter += 1;
  return { sender, mode: 'TOPIC', target: topic, content: `on ${topic} ${counter}`, ...overrides };
}
