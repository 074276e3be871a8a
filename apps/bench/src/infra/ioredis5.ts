import { register } from 'node:module';

let registered = false;

/** Makes bentocache resolve `ioredis` to ioredis 5 (see ioredis5-hooks.ts); call before importing it. */
export function useIoredis5ForBentocache(): void {
  if (registered) return;
  registered = true;
  register('./ioredis5-hooks.js', import.meta.url);
}
