// Root-only test layers say so plainly instead of skipping.
import * as assert from 'node:assert/strict';

export function requireRoot(layer: string): void {
  assert.equal(
    process.getuid?.(),
    0,
    `${layer} tests load BPF programs and need root (CAP_BPF, CAP_NET_ADMIN): run them as root`,
  );
}
