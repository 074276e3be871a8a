import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisServerHarness } from '../../test/redis-server.harness.js';
import { escapeGlob, globToRegExp, scanPattern } from './glob.js';

const KEYS = [
  'city:ü',
  'city:ö',
  'city:é',
  'city:u',
  'city:üü',
  'city:🚀',
  'city:[ü]',
  'city:*',
  'city:\\',
  'city:%C3%BC',
  'city:ü:1',
  'town:ü',
  'x:a-b',
  'x:ü-b',
  'x:ÿ',
  'x:Ã¿',
];

const PATTERNS = [
  'city:?',
  'city:??',
  'city:[üö]',
  'city:[^u]',
  'city:[a-z]',
  'city:[ä-ü]',
  'city:*',
  'city:?:*',
  'city:ü*',
  `city:${escapeGlob('[ü]')}`,
  'city:\\*',
  '*:?',
  '*:[ü]*',
  '?????:?',
  'x:?-b',
  'x:[ÿ]',
  'x:??',
];

/** Every key SCAN MATCH returns for a pattern. */
async function scan(client: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

describe('pattern deletes remove the same keys from L1 and from a real redis-server (issue 13, key 5)', () => {
  let server: RedisServerHarness;
  let client: Redis;

  beforeAll(async () => {
    server = await RedisServerHarness.start();
    client = new Redis(server.url);
    for (const key of KEYS) await client.set(key, '1');
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it.each(PATTERNS)(
    '%s: SCAN MATCH scanPattern, filtered by globToRegExp, is what L1 matches',
    async (glob) => {
      const matcher = globToRegExp(glob);
      const l1 = KEYS.filter((key) => matcher.test(key)).sort();
      const redis = (await scan(client, scanPattern(glob))).filter((key) => matcher.test(key));
      expect(redis).toEqual(l1);
    },
  );

  it('SCAN MATCH with the raw glob (what the backend did) misses keys L1 removes', async () => {
    const missed: string[] = [];
    for (const glob of PATTERNS) {
      const matcher = globToRegExp(glob);
      const raw = await scan(client, glob);
      for (const key of KEYS)
        if (matcher.test(key) && !raw.includes(key)) missed.push(`${glob} ${key}`);
    }
    expect(missed).toEqual(expect.arrayContaining(['city:? city:ü', 'city:[üö] city:ü']));
  });
});
