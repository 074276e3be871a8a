import { flatString, storedKey } from '../keys/stored-key.js';

/** Keys remembered per generation; two generations are kept, so at most twice this many. */
export const STORED_KEYS_PER_GENERATION = 1024;
/** Longer keys are not remembered (their stored form is computed on every call). */
export const LONGEST_REMEMBERED_KEY = 256;

/**
 * The stored keys (`<namespace>:<stored form>`) of one cache view's recently used keys. Building
 * one costs a concatenation, a lone-surrogate check and a copy of the result into a flat string
 * before the L1 can hash it: more than the L1 lookup itself. Keys read again and again (the ones
 * a cache is for) are built once and then found by the key the caller passed, and the stored key
 * handed out is the same string each time, whose hash V8 keeps.
 *
 * Bounded without bookkeeping per read: keys go into the current generation; when it is full it
 * becomes the previous one (the one before is dropped), and a key found in the previous one moves
 * back into the current one. So at most 2 × {@link STORED_KEYS_PER_GENERATION} keys of at most
 * {@link LONGEST_REMEMBERED_KEY} code units each are kept.
 */
export class StoredKeys {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();

  constructor(
    /** `<namespace>:`. */
    private readonly prefix: string,
    private readonly perGeneration = STORED_KEYS_PER_GENERATION,
  ) {}

  /** The stored key of `key` (a non-empty string). */
  of(key: string): string {
    const known = this.current.get(key);
    if (known !== undefined) return known;
    if (key.length > LONGEST_REMEMBERED_KEY) return flatString(this.prefix + storedKey(key));
    const stored = this.previous.get(key) ?? flatString(this.prefix + storedKey(key));
    if (this.current.size >= this.perGeneration) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, stored);
    return stored;
  }

  /** How many keys are remembered (both generations; a key may be in both). */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
