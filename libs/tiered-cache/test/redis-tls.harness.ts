import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, RedisServerHarness } from './redis-server.harness.js';

/** A throwaway certificate authority and a server certificate it signed, in a temporary folder. */
export interface TlsMaterial {
  readonly dir: string;
  /** The CA's certificate (PEM file), for `tls-ca-cert-file` and the client's `ca`. */
  readonly caFile: string;
  readonly ca: Buffer;
  /** The server's certificate and key (PEM files), for 127.0.0.1 and localhost. */
  readonly certFile: string;
  readonly keyFile: string;
  /** Removes the folder. */
  remove(): void;
}

/** Runs `openssl` with space-separated arguments (none of them contains a space) in `cwd`. */
const openssl = (args: string, cwd: string): void => {
  execFileSync('openssl', args.split(' '), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

/**
 * Generates a CA and a server certificate (P-256 keys, valid one day, names 127.0.0.1 and
 * localhost) with the `openssl` command line, at test time: nothing secret is committed.
 */
export function createTlsMaterial(): TlsMaterial {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-tls-'));
  const key = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
  openssl(
    `req -x509 ${key} -keyout ca.key -out ca.crt -days 1 -subj /CN=ntc-test-ca ` +
      '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign',
    dir,
  );
  openssl(`req ${key} -keyout server.key -out server.csr -subj /CN=localhost`, dir);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt ' +
      '-days 1 -extfile server.ext',
    dir,
  );
  const caFile = path.join(dir, 'ca.crt');
  return {
    dir,
    caFile,
    ca: readFileSync(caFile),
    certFile: path.join(dir, 'server.crt'),
    keyFile: path.join(dir, 'server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A `redis-server` that also listens with TLS on `tlsPort` (its plain port serves the harness). */
export interface TlsRedis {
  readonly server: RedisServerHarness;
  readonly tlsPort: number;
  /** `rediss://127.0.0.1:<tlsPort>`. */
  readonly url: string;
}

/**
 * Starts a `redis-server` with a TLS port using `material` (clients are not asked for a
 * certificate: `--tls-auth-clients no`), plus `extraArgs` (a password, ACL users...). The plain
 * port stays open for the harness's readiness check. Fails with a hint when the server was
 * built without TLS.
 */
export async function startTlsRedis(
  material: TlsMaterial,
  extraArgs: readonly string[] = [],
): Promise<TlsRedis> {
  const tlsPort = await freePort();
  try {
    const server = await RedisServerHarness.start([
      ...`--tls-port ${tlsPort} --tls-auth-clients no`.split(' '),
      ...['--tls-cert-file', material.certFile, '--tls-key-file', material.keyFile],
      ...['--tls-ca-cert-file', material.caFile],
      ...extraArgs,
    ]);
    return { server, tlsPort, url: `rediss://127.0.0.1:${tlsPort}` };
  } catch (err) {
    if (/tls/i.test(String(err)) && /directive|argument|not supported/i.test(String(err))) {
      throw new Error(
        `this redis-server has no TLS support (Redis is built with BUILD_TLS=yes for it; Debian's and Homebrew's packages are): ${String(err)}`,
        { cause: err },
      );
    }
    throw err;
  }
}
