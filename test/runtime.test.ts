import { describe, expect, it } from 'vitest';

describe('the Node.js line', () => {
  // CI runs the suite once per supported line (.ci/run) and says which: make sure it really is that one.
  it.runIf(process.env.CI_NODE_MAJOR)('is the one CI asked for', () => {
    expect(process.versions.node.split('.')[0]).toBe(process.env.CI_NODE_MAJOR);
  });
});
