// Errors of the hub client, each with a kind a caller (or a test) can tell apart and a message that
// says what to do: not found, gated, unauthorized, offline, network, disk full, integrity.

export type HubErrorKind = 'not-found' | 'gated' | 'unauthorized' | 'offline' | 'network' | 'disk-full' | 'integrity' | 'protocol';

export class HubError extends Error {
  constructor(readonly kind: HubErrorKind, message: string) {
    super(message);
    this.name = 'HubError';
  }
}
