// `xdpvs decap attach`'s allowed tunnel sources: prefixes of both families,
// no silent default, a typo never widens the list.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parsePrefix } from '../../agent/net/addr';
import { allowedSources } from '../../agent/cli/decap';

describe('decap allowed sources', () => {
  it('parses IPv4 and IPv6 prefixes; a bare address is a /32 or /128', () => {
    assert.deepEqual(['10.0.0.0/8', '10.0.2.1', 'fd00::/64', 'fd00::1', '0.0.0.0/0', '::/0'].map((p) => String(parsePrefix(p))), [
      '10.0.0.0/8',
      '10.0.2.1/32',
      'fd00::/64',
      'fd00::1/128',
      '0.0.0.0/0',
      '::/0',
    ]);
  });

  it('refuses host bits, naming the prefix meant', () => {
    assert.throws(() => parsePrefix('10.0.2.1/24', '--allow-source'), /^Error: --allow-source: "10\.0\.2\.1\/24" has host bits set: did you mean 10\.0\.2\.0\/24\?$/);
    assert.throws(() => parsePrefix('fd00::1/64'), /did you mean fd00::\/64\?/);
  });

  it('refuses lengths out of range and garbage, naming the option', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', 'director1', '10.0.0/8']) {
      assert.throws(() => parsePrefix(bad, '--allow-source'), /^Error: --allow-source: /, bad);
    }
  });

  it('there is no default: neither option is an error naming both', () => {
    assert.throws(() => allowedSources({}), /--allow-source PREFIX\.\.\. is required.*--allow-any-source/);
    assert.throws(() => allowedSources({ allowSource: [] }), /--allow-source PREFIX\.\.\. is required/);
  });

  it('--allow-any-source is both families whole, and excludes --allow-source', () => {
    assert.deepEqual(allowedSources({ allowAnySource: true }).map(String), ['0.0.0.0/0', '::/0']);
    assert.throws(() => allowedSources({ allowAnySource: true, allowSource: ['10.0.0.1'] }), /exclude each other/);
  });

  it('--allow-source keeps every prefix given, both families', () => {
    assert.deepEqual(allowedSources({ allowSource: ['10.0.0.1', 'fd00::/64'] }).map(String), ['10.0.0.1/32', 'fd00::/64']);
  });
});
