import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SCAN_CONCURRENCY, type EntryDir } from './filesystem-dir.js';
import { forEachLimit, processAlive, unlinkFile } from './filesystem-files.js';
import { ENTRY_SUFFIX, isScratchFile, scratchFileOwner } from './filesystem-format.js';
import type { TagMarkers } from './filesystem-tags.js';

/** What one prune did: files removed, and entries left. */
export interface PruneResult {
  readonly removed: number;
  readonly remaining: number;
}

/** What a prune is given besides the directory and its tag markers. */
export interface PruneContext {
  /** The cache's clock now, in epoch ms (expiry is judged against it). */
  readonly now: number;
  readonly maxEntries: number;
  /** Temp and probe files this process is writing right now. */
  readonly inflight: ReadonlySet<string>;
}

/** Age (by mtime, in ms) after which a temp, probe or token file is removed whoever wrote it. */
export const STALE_SCRATCH_MS = 60_000;

/**
 * True for a temp, probe or token file nobody will finish: its writer (named in the file name) is
 * no longer running, or is this process without it in flight (an earlier process had this pid), or
 * it is older than {@link STALE_SCRATCH_MS} (a writer in another PID namespace).
 */
export async function isLeftover(
  path: string,
  name: string,
  inflight: ReadonlySet<string>,
): Promise<boolean> {
  if (inflight.has(name)) return false;
  const owner = scratchFileOwner(name);
  if (owner === process.pid || (owner !== undefined && !processAlive(owner))) return true;
  const { mtimeMs } = await stat(path);
  return mtimeMs <= Date.now() - STALE_SCRATCH_MS;
}

/**
 * One pass over the directory: removes expired and corrupt entries, leftover temp and probe files
 * (those of dead writers at once), and the entries closest to expiry beyond `maxEntries`; learns
 * every entry's key for the index, and checks the tag markers against the entries' headers. Files
 * it cannot handle now are left for the next pass.
 */
export async function pruneDirectory(
  dir: EntryDir,
  tags: TagMarkers,
  context: PruneContext,
): Promise<PruneResult> {
  const token = await tags.begin();
  const names = await dir.list();
  const live: Array<{ name: string; staleUntil: number }> = [];
  const tagged = new Map<string, readonly string[]>();
  let removed = 0;
  const countRemoved = () => void removed++;
  await forEachLimit(names, SCAN_CONCURRENCY, async (name) => {
    try {
      if (isScratchFile(name)) {
        const path = dir.file(name);
        if ((await isLeftover(path, name, context.inflight)) && (await unlinkFile(path))) removed++;
        return;
      }
      if (!name.endsWith(ENTRY_SUFFIX)) return;
      const head = await dir.headOf(name, countRemoved);
      if (head === undefined) return;
      if (head.header.staleUntil <= context.now) {
        if (await dir.removeEntry(name)) removed++;
        return;
      }
      live.push({ name, staleUntil: head.header.staleUntil });
      if (head.header.tags.length > 0) tagged.set(name, head.header.tags);
    } catch {
      // Unreadable right now (vanished, I/O error...): left for the next prune.
    }
  });
  if (live.length > context.maxEntries) {
    live.sort((a, b) => a.staleUntil - b.staleUntil);
    const excess = live.splice(0, live.length - context.maxEntries);
    await forEachLimit(excess, SCAN_CONCURRENCY, async ({ name }) => {
      tagged.delete(name);
      if (await dir.removeEntry(name).catch(() => false)) removed++;
    });
  }
  await tags.finish(token, tagged, (name) =>
    isLeftover(join(dir.tagsPath, name), name, context.inflight),
  );
  return { removed, remaining: live.length };
}
