import { summarize, type Summary } from '../infra/stats.js';
import type { HttpContenderResult } from '../scenarios/http.js';
import type { LibraryContenderResult } from '../scenarios/library.js';
import type { BenchResults } from './results.js';
import { cell, ns, ratio, rps, signedUs, us } from './format.js';

/** `f` of `a`'s and `b`'s ops/s in each round both ran (results saved before `perRound` existed have none). */
function perRound(
  a: LibraryContenderResult | undefined,
  b: LibraryContenderResult | undefined,
  f: (a: number, b: number) => number,
): Summary | undefined {
  if (a?.perRound === undefined || b?.perRound === undefined) return undefined;
  return summarize(a.perRound.map((value, i) => f(value, b.perRound![i]!)));
}

/** `a` over `b` in each round both ran. */
export function roundRatio(
  a: LibraryContenderResult | undefined,
  b: LibraryContenderResult | undefined,
): Summary | undefined {
  return perRound(a, b, (x, y) => x / y);
}

/** `a`'s req/s over `b`'s in each HTTP round both ran (results saved before `rpsPerRound` have none). */
export function httpRoundRatio(
  a: HttpContenderResult | undefined,
  b: HttpContenderResult | undefined,
): Summary | undefined {
  if (a?.rpsPerRound === undefined || b?.rpsPerRound === undefined) return undefined;
  return summarize(a.rpsPerRound.map((value, i) => value / b.rpsPerRound![i]!));
}

/** Why the missed bars are missed: the floors measured in the same run, and what the profiles show. */
export function analysis(r: BenchResults): string[] {
  const out: string[] = ['## Where the time goes', ''];
  const find = <T extends { id: string }>(list: readonly T[] | undefined, id: string) =>
    list?.find((c) => c.id === id);
  const fNoop = find(r.fastify?.contenders, 'noop');
  const eNoop = find(r.express?.contenders, 'noop');
  if (fNoop !== undefined || eNoop !== undefined) {
    out.push(
      '**HTTP hits.** A `@Cached` route is served by an interceptor, because guards must run before anything is served from the cache ' +
        "(a middleware or an `onRequest` hook would answer before authentication). Nest's interceptor pipeline (an execution context, " +
        'rxjs `defer`/`mergeAll` and `lastValueFrom` around the handler) costs the same for every interceptor: the raw route behind an ' +
        `interceptor that does nothing reaches ${fNoop ? `${cell(fNoop.ratio, ratio)} of raw on Fastify` : ''}${fNoop && eNoop ? ' and ' : ''}${eNoop ? `${cell(eNoop.ratio, ratio)} on Express` : ''}. ` +
        'That is what every interceptor that lets the handler run pays, on this machine, ' +
        `where the raw Fastify handler costs ${cell(find(r.fastify?.contenders, 'raw')?.cpuUs, us)} of CPU per request; ` +
        "a hit pays less of it, ours and @nestjs/cache-manager's alike, since it never calls the handler (Nest's handler wrapper, pipes and the promise around them are skipped). " +
        'A CPU profile of the Fastify server (`node --cpu-prof dist/apps/bench/servers/http-server.js ours-memory fastify`, ' +
        'then autocannon on the URL it prints) puts everything nest-tiered-cache does on a hit (route lookup, key template, L1 read, decode, `X-Cache`) at about 1.5 µs per request, ' +
        "of which the `memory` tier's copy of the value is the part the `memory-no-serializer` row does without (before issue 9 that copy was a decode of the stored bytes, about 0.85 µs; it is now a copy of a private JSON tree, several times cheaper). " +
        `Measured here, the extra CPU per hit over raw is ${cell(find(r.fastify?.contenders, 'ours-memory')?.extraCpuUs, signedUs)} with \`memory\` and ${cell(find(r.fastify?.contenders, 'ours-nos')?.extraCpuUs, signedUs)} with \`memory-no-serializer\` (bar: 8 µs), ` +
        `next to ${cell(fNoop?.extraCpuUs, signedUs)} for the interceptor that does nothing.`,
      '',
    );
  }
  for (const res of [r.fastify, r.express]) {
    const big = find(res?.contenders, 'ours-memory-4k');
    if (res === undefined || big === undefined) continue;
    const str = find(res.contenders, 'string-4k');
    const noop4k = find(res.contenders, 'noop-4k');
    const noopStr = find(res.contenders, 'noop-string-4k');
    const raw4k = find(res.contenders, 'raw-4k');
    const c304 = find(res.contenders, 'ours-304');
    const platform = res.scenario.platform === 'fastify' ? 'Fastify' : 'Express';
    out.push(
      `**HTTP hits, 4 KB body, ${platform}.** A route's cache entry is its answer as sent (the bytes the framework wrote, their content type, an ETag), so a hit neither runs the handler nor serializes anything: ` +
        `its CPU per request is ${cell(big.cpuUs, us)} against ${cell(raw4k?.cpuUs, us)} for the raw handler returning the same object, and it serves ${cell(big.ratio, ratio)} of its req/s. ` +
        `Two floors bound it, measured in the same rounds: the same route returning the body already serialized (no interceptor, no serialization per request) reaches ${cell(str?.ratio, ratio)} (${cell(str?.cpuUs, us)}), which is all that skipping serialization can give on this machine; ` +
        `and the raw route behind an interceptor that does nothing reaches ${cell(noop4k?.ratio, ratio)} (${cell(noop4k?.cpuUs, us)}), the cost of Nest's interceptor pipeline that any interceptor-based cache pays (a hit pays less of it: it never calls the handler, so Nest's handler wrapper, pipes and the promise around them are skipped). ` +
        `The two together, the body already serialized behind the interceptor that does nothing, is the floor of any interceptor cache that answers stored bytes: ${cell(noopStr?.ratio, ratio)} (${cell(noopStr?.cpuUs, us)}); the hit reaches ${cell(httpRoundRatio(big, noopStr), ratio)} of it in the same rounds. ` +
        `A \`304\` to \`If-None-Match\` (no body written) reaches ${cell(c304?.ratio, ratio)} (${cell(c304?.cpuUs, us)}).`,
      '',
    );
  }
  const l1Fastify = find(r.fastify?.contenders, 'ours-memory');
  const l2Fastify = find(r.fastify?.contenders, 'ours-redis');
  if (l1Fastify !== undefined && l2Fastify !== undefined) {
    out.push(
      `**L1 hit against Redis hit.** Both now send the stored bytes (no serializer on either path), and the socket write of an answer (\`writev\`, a large share of every request's CPU on this VM) is the same on both. ` +
        `Measured here, the L1 hit costs ${cell(l1Fastify.cpuUs, us)} per request and the Redis-only hit ${cell(l2Fastify.cpuUs, us)}. ` +
        "Profiled alone (`node --cpu-prof`, 50 connections; V8 allocation sampling counting collected objects; `--trace-gc`), our Redis-only route and cache-manager's allocate about the same, ~32 KB per request, mostly in Nest's router and rxjs, and both batch their Redis writes (ioredis's auto-pipelining; node-redis corks its `writev`s), " +
        'yet ours spends more in the garbage collector: more of its young objects outlive a scavenge, are promoted, and are reclaimed by mark-compacts. ' +
        'Nothing is retained (a heap snapshot taken under load holds 25 MB in all): they are the objects of requests still waiting for Redis when a scavenge runs. ' +
        "Measured alone with `--trace-gc-nvp`, what survives each scavenge went from 2.2–2.5 MB to 1.0–1.1 MB once the interceptor stopped keeping a closure per request; most of the rest is ioredis's: a bare ioredis client under the same load keeps 1.05 MB alive per scavenge with auto-pipelining and 0.46 MB without it (its pending commands and their promises wait a tick longer), yet turning auto-pipelining off costs more CPU than it saves (the route took 58–62 µs per request instead of 55–58 µs), and corking the socket once per tick instead changed nothing measurable. With `--max-semi-space-size=64` the route costs 39–42 µs (cache-manager: 39.5–39.7 µs), which puts the collector's share at about 15 µs per request. " +
        'The L1 path does not pay that garbage-collection time; every Redis-backed interceptor cache pays part of it, as the next paragraph measures.',
      '',
    );
  }
  const l2Redis = find(r.fastify?.contenders, 'ours-redis');
  const cmRedis = find(r.fastify?.contenders, 'cm-redis');
  if (l2Redis !== undefined) {
    out.push(
      `**HTTP L2 hit.** Every request makes a Redis round trip (a command, a socket write and read, decoding the entry) on top of the interceptor floor: ${cell(l2Redis.extraCpuUs, signedUs)} of CPU per request over raw, ` +
        `against ${cell(find(r.fastify?.contenders, 'raw')?.cpuUs, us)} for the raw handler itself` +
        (cmRedis
          ? ` (@nestjs/cache-manager on Redis, through Keyv and node-redis: ${cell(cmRedis.extraCpuUs, signedUs)}). `
          : '. ') +
        "0.85× of raw would leave a Redis hit, interceptor included, under a fifth of the raw handler's CPU. " +
        'Where that time goes is in the paragraph above.',
      '',
    );
  }
  const floorIo = find(r.fastify?.contenders, 'floor-ioredis');
  const floorNode = find(r.fastify?.contenders, 'floor-node-redis');
  if (l2Redis !== undefined && cmRedis !== undefined && floorIo !== undefined) {
    const floorOverCm = httpRoundRatio(floorIo, cmRedis);
    const oursOverCm = httpRoundRatio(l2Redis, cmRedis);
    const oursOverFloor = httpRoundRatio(l2Redis, floorIo);
    const below = floorOverCm !== undefined && floorOverCm.median < 1.2;
    out.push(
      '**The floor of a Redis hit through an interceptor.** Two contenders of the Fastify run do the least an interceptor cache on Redis can do per hit: ' +
        "one `GET` of the route's stored JSON bytes (a fixed key), answered as they are, with nothing else (no entry header or expiry, no deadline or circuit breaker, no counters, no key template, no `X-Cache` or `ETag`), " +
        `one through ioredis (auto-pipelining, as the cache's own connections) and one through node-redis (the client under cache-manager's Keyv store). In the same rounds they reach ${cell(floorOverCm, ratio)} (ioredis) and ${cell(httpRoundRatio(floorNode, cmRedis), ratio)} (node-redis) of cache-manager's Redis hit, ` +
        `and nest-tiered-cache's Redis-only hit reaches ${cell(oursOverCm, ratio)} of it, ${cell(oursOverFloor, ratio)} of the ioredis floor. ` +
        (below
          ? "The 1.2× bar is above what an interceptor that does nothing but one ioredis `GET` reaches here: it cannot be met on this client by any cache that serves routes through Nest's interceptor (which guards require). "
          : 'The floor is at or above the 1.2× bar here, so the part of the gap between the floor and our hit is ours. ') +
        'CPU profiles of the three servers under the same load (`node --cpu-prof dist/apps/bench/servers/http-server.js <contender> fastify <redis-url>`, 50 autocannon connections for 11 s, three runs each, interleaved; the profiler itself adds to every figure) put the busy CPU per request at 42.3–43.4 µs for the ioredis floor, 47.2–52.2 µs for our Redis-only hit and 41.2–65.3 µs for cache-manager. ' +
        'Between us and the floor: our own functions (route key, lookup, tier, decode, `X-Cache` and `ETag`) take 2.2–2.5 µs, the garbage collector 6.4–6.9 µs against 5.4–5.7 µs, and rxjs 5.4–6.0 µs against 4.8–5.1 µs; ioredis costs both the same (4.3–4.8 µs). ' +
        "cache-manager's collector (through Keyv and node-redis) takes 3.1–4.4 µs.",
      '',
    );
  }
  const lp = find(r.libraryGet?.contenders, 'lru-promise');
  const lo = find(r.libraryGet?.contenders, 'ours-nos');
  if (lp !== undefined && lo !== undefined) {
    const om = find(r.libraryGet?.contenders, 'ours-memory');
    const cm = find(r.libraryGet?.contenders, 'cm-memory');
    const cmJson = find(r.libraryGet?.contenders, 'cm-memory-json');
    const floor = find(r.libraryGet?.contenders, 'lru-ttl-floor');
    out.push(
      `**Library get.** \`CacheService.get\` returns a promise (the API is the same whatever the tiers are). lru-cache's own \`get\`, merely wrapped in a resolved promise and awaited, reaches ${cell(lp.ratio, ratio)} of the synchronous \`get\`: ` +
        'the promise alone is at or below the 0.25× bar. ' +
        (floor !== undefined
          ? `The least an async get does once it has expiry times and namespaced keys (the stored key found in a \`Map\`, lru-cache's \`get\`, the entry's expiry against a reading of \`Date.now()\` shared by the reads of a millisecond as ours is, the resolved promise; nothing else) reaches ${cell(floor.ratio, ratio)} of the synchronous \`get\` in the same rounds: the floor under the 0.10× bar. ` +
            `nest-tiered-cache's L1 hit (${cell(lo.opsPerSec, rps)} ops/s) reaches ${cell(roundRatio(lo, floor), ratio)} of that floor, ${cell(
              perRound(lo, floor, (x, y) => 1e9 / x - 1e9 / y),
              ns,
            )} more per call: ` +
            'the tier (its circuit breaker, latency sampling of one read in 32, the checks for missed invalidations and failed writes), freshness judged once and counted by the tier and by the cache view, the `hit` event check, and the stored key remembered in two generations rather than one `Map`. None of them is a hot spot on its own (a CPU profile spreads them over the service, the resolve path, the tier and the store).'
          : `nest-tiered-cache's L1 hit (${cell(lo.opsPerSec, rps)} ops/s) adds to that a shared reading of the cache's clock (\`Date.now\`), the lookup of the stored key, the tier (breaker, latency sampling) and freshness and counting in the engine and the service.`) +
        (om !== undefined && cm !== undefined
          ? ` The \`memory\` tier hands every reader its own copy of the value (a copy of a private JSON tree; primitives as they are): ${cell(roundRatio(om, cm), ratio)} of cache-manager's memory \`get\` in the same rounds, although cache-manager's default in-memory store hands out the stored object itself, with no copy` +
            (cmJson !== undefined
              ? `; with Keyv's JSON serializer (a copy per read, the same promise as \`memory\`) cache-manager reaches ${cell(roundRatio(cmJson, om), ratio)} of \`memory\`.`
              : '.')
          : ''),
      '',
    );
  }
  const dec = find(r.l2?.contenders, 'ioredis-decode');
  const ours = find(r.l2?.contenders, 'ours-redis');
  if (dec !== undefined && ours !== undefined) {
    out.push(
      `**L2 throughput.** Reading an encoded value and parsing it (\`getBuffer\` + \`JSON.parse\`, nothing else) already reaches only ${cell(dec.ratio, ratio)} of a raw \`get\` that returns the string. ` +
        `nest-tiered-cache (${cell(ours.ratio, ratio)}) adds the entry header, the tier's deadline and circuit breaker, latency and hit counters, and two promise continuations (the tier, then the engine). ` +
        'A CPU profile of that worker shows a quarter of the time in the garbage collector and the rest spread over ioredis, promise jobs and decoding, with no single hot spot left.',
      '',
    );
  }
  const mem = find(r.memory?.contenders, 'ours-nos');
  if (mem !== undefined) {
    out.push(
      `**Memory.** \`memory-no-serializer\` keeps, per entry, what raw lru-cache keeps plus: a compact entry of 48 B (the value, and its expiry as two small integers V8 stores inline; a \`{ value, expiresAt, staleUntil, tags }\` object would take 56 B plus two 16 B boxed doubles) ` +
        'and a longer key (`<namespace>:<key>`, flattened so it holds no parts). lru-cache runs without per-entry TTLs (two numbers per slot): the tier judges freshness on the entry, a dead entry is deleted when read, and LRU eviction bounds the memory. ' +
        '`memory` keeps a JSON value as its text until the first read, then as a private tree (each reader gets a copy of it), hence its two rows; its times and tags are fields of the record, not bytes.',
      '',
    );
  }
  out.push(
    '## Library changes made for these figures',
    '',
    "- **Pattern deletes at scale**: `deletePattern` over 1M keys takes longer than the shared tier's 250 ms deadline, so it used to report 0 keys removed, count a backend failure and keep deleting in the background. " +
      "Bulk operations (pattern, tag and prefix deletes) now have a 60 s overall deadline and every Redis command they send (SCAN, SSCAN, UNLINK) has the tier's deadline; a hung Redis still fails them within one command's deadline.",
    "- **No timer per Redis call**: ioredis's `commandTimeout` (a timer per command) duplicated the tier's deadline and is no longer set on connections the cache opens; deadlines of one duration share one timer instead of a `setTimeout` per call.",
    '- **Fewer promises and allocations per hit**: an L1 hit is returned without an extra `await`; `getOrSet` hands a hit back as a value; the tier does deadline, breaker and latency in one promise; decoding reads the value without a Buffer view; ' +
      'entries decoded from Redis keep their bytes (for the L1 backfill) in a private field rather than a WeakMap; on the default clock, a reading of it shared by the reads of a millisecond (64 at most) instead of a `Date.now()` per hit; an in-process tier samples its read latency (1 read in 32).',
    '- **Smaller in-process entries**: the LRU stores the entry itself rather than a `{ stored, tags }` record, and untagged entries share one empty tags array.',
    '- **Issue 9, in-process tiers**: a `memory` hit copies a private JSON tree (V8 spread and `slice` fast paths) instead of decoding a header and parsing JSON; `memory-no-serializer` keeps untagged entries in 48 B; ' +
      'lru-cache runs without per-entry TTL; keys are flattened before they are hashed.',
    '',
  );
  return out;
}
