import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { SCAN_CONCURRENCY, type EntryDir } from './filesystem-dir.js';
import { forEachLimit, isNotFound, pathExists, touchFile, unlinkFile } from './filesystem-files.js';
import {
  ENTRY_SUFFIX,
  TAGS_COMPLETE,
  TOKEN_PREFIX,
  markerName,
  parseMarkerName,
  scratchFileName,
  tagHash,
} from './filesystem-format.js';

/** Entry file name → the hashes of the asked tags it has markers for. */
export type TagCandidates = Map<string, string[]>;

/**
 * The tag index on disk, shared by every process using the directory: one empty marker file per
 * (tag, entry) in `.tags/`. The rules that keep it complete without locks:
 * - a writer creates an entry's markers before renaming the entry into place, and checks they
 *   still exist afterwards (re-creating any that a concurrent clean-up removed);
 * - a tag delete reads each candidate's header and removes only entries that carry the tag;
 * - a marker is removed only by {@link drop}, which reads the entry again after removing it and
 *   puts it back when the entry (by then) carries the tag.
 * So every entry that carries a tag has that tag's marker once its write returned. Markers of
 * entries that went (deleted, expired, overwritten without the tag) are left for the prune.
 */
export class TagMarkers {
  private tokens = 0;

  constructor(private readonly dir: EntryDir) {}

  /** The marker names of an entry's tags (each once). */
  markersOf(tags: readonly string[], entryName: string): string[] {
    return [...new Set(tags)].map((tag) => markerName(tagHash(tag), entryName));
  }

  /** Creates markers (before their entry is renamed into place). */
  async create(markers: readonly string[]): Promise<void> {
    await Promise.all(markers.map((marker) => touchFile(this.file(marker))));
  }

  /** Re-creates any of the markers that is missing (after their entry was renamed into place). */
  async keep(markers: readonly string[]): Promise<void> {
    for (const marker of markers)
      if (!(await pathExists(this.file(marker)))) await touchFile(this.file(marker));
  }

  /** True once a prune made sure every tagged entry has its markers (see `filesystem-format.ts`). */
  private complete(): Promise<boolean> {
    return pathExists(this.file(TAGS_COMPLETE));
  }

  /**
   * Removes the entries carrying any of `tags`: those with a marker of one of them, each checked
   * by its header (and those markers dropped). Until a prune has checked every marker
   * (`complete` false: at start, after an upgrade or after `.tags/` was deleted), every entry's
   * header is read instead. Resolves to how many keys went, and whether the markers were used.
   */
  async removeTagged(tags: ReadonlySet<string>): Promise<{ removed: number; complete: boolean }> {
    const removed = new Set<string>();
    let failure: unknown;
    const removeIfTagged = async ([name, markerHashes]: [string, readonly string[]]) => {
      try {
        const head = await this.dir.headOf(name);
        if (head?.header.tags.some((tag) => tags.has(tag)) && (await this.dir.removeEntry(name)))
          removed.add(head.key);
        for (const hash of markerHashes) await this.drop(hash, name).catch(() => undefined);
      } catch (err) {
        failure ??= err;
      }
    };
    const complete = await this.complete();
    const candidates: Array<[string, readonly string[]]> = complete
      ? [...(await this.candidates(new Set([...tags].map(tagHash))))]
      : (await this.dir.list())
          .filter((name) => name.endsWith(ENTRY_SUFFIX))
          .map((name) => [name, []]);
    await forEachLimit(candidates, SCAN_CONCURRENCY, removeIfTagged);
    if (failure !== undefined) throw failure;
    return { removed: removed.size, complete };
  }

  /** The entries with a marker of any of `hashes` (tag hashes). */
  private async candidates(hashes: ReadonlySet<string>): Promise<TagCandidates> {
    const found: TagCandidates = new Map();
    for (const name of await this.list()) {
      const marker = parseMarkerName(name);
      if (marker === undefined || !hashes.has(marker.tagHash)) continue;
      const list = found.get(marker.entryName);
      if (list === undefined) found.set(marker.entryName, [marker.tagHash]);
      else list.push(marker.tagHash);
    }
    return found;
  }

  /**
   * Removes the marker of one tag of an entry, then reads the entry: if it carries the tag (a
   * write raced the removal), or cannot be read, the marker is put back. If it cannot be put back,
   * `.complete` goes too, so tag deletes read every entry until a prune has repaired the markers.
   */
  async drop(hashOfTag: string, entryName: string): Promise<void> {
    const marker = this.file(markerName(hashOfTag, entryName));
    await unlinkFile(marker);
    let tagged: boolean;
    try {
      const head = await this.dir.headOf(entryName);
      tagged = head?.header.tags.some((tag) => tagHash(tag) === hashOfTag) ?? false;
    } catch {
      tagged = true;
    }
    if (!tagged) return;
    try {
      await touchFile(marker);
    } catch (err) {
      await unlinkFile(this.file(TAGS_COMPLETE)).catch(() => false);
      throw err;
    }
  }

  /**
   * Starts a check of every marker (by a prune): leaves a token in `.tags/`, before the prune lists
   * the entries. Resolves to the token's name, or undefined when it could not be written.
   */
  async begin(): Promise<string | undefined> {
    const token = scratchFileName(TOKEN_PREFIX, this.tokens++);
    try {
      await this.dir.ensure();
      await touchFile(this.file(token));
      return token;
    } catch {
      return undefined;
    }
  }

  /**
   * Ends the check begun with `token`: creates the missing markers of `live` (entry file name → its
   * tags, from the prune's reads), drops those of entries not in it or without that tag, removes
   * other files `leftover` accepts (tokens of dead prunes), and then, if every marker of `live`
   * exists, renames the token to `.complete`. Were `.tags/` deleted and recreated meanwhile, the
   * token is gone with it and nothing is claimed; if a marker could not be created, `.complete`
   * is removed.
   */
  async finish(
    token: string | undefined,
    live: ReadonlyMap<string, readonly string[]>,
    leftover: (name: string) => Promise<boolean>,
  ): Promise<void> {
    const present = new Set<string>();
    const dropped: Array<{ tagHash: string; entryName: string }> = [];
    const others: string[] = [];
    for (const name of await this.list()) {
      const marker = parseMarkerName(name);
      if (marker === undefined) {
        if (name !== TAGS_COMPLETE && name !== token) others.push(name);
      } else if (live.get(marker.entryName)?.some((tag) => tagHash(tag) === marker.tagHash)) {
        present.add(name);
      } else {
        dropped.push(marker);
      }
    }
    const missing = [...live].flatMap(([entryName, tags]) =>
      this.markersOf(tags, entryName).filter((marker) => !present.has(marker)),
    );
    let incomplete = false;
    await forEachLimit(missing, SCAN_CONCURRENCY, (marker) =>
      touchFile(this.file(marker)).catch(() => void (incomplete = true)),
    );
    await forEachLimit(dropped, SCAN_CONCURRENCY, ({ tagHash: hash, entryName }) =>
      this.drop(hash, entryName).catch(() => undefined),
    );
    await forEachLimit(others, SCAN_CONCURRENCY, async (name) => {
      if (await leftover(name).catch(() => false))
        await unlinkFile(this.file(name)).catch(() => false);
    });
    if (incomplete) await unlinkFile(this.file(TAGS_COMPLETE)).catch(() => false);
    if (token === undefined) return;
    if (incomplete) await unlinkFile(this.file(token)).catch(() => false);
    else await rename(this.file(token), this.file(TAGS_COMPLETE)).catch(() => undefined);
  }

  private async list(): Promise<string[]> {
    try {
      return await readdir(this.dir.tagsPath);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  private file(name: string): string {
    return join(this.dir.tagsPath, name);
  }
}
