import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { SCHEMA_SQL, SETTINGS, seedData } from './seed.js';

/** Runs one parameterized statement and resolves to its rows. */
type Query = <T>(sql: string, params?: readonly unknown[]) => Promise<T[]>;

/** What the demo needs of a SQL engine: PGlite and PostgreSQL both speak the same dialect. */
interface SqlDriver {
  readonly kind: 'pglite' | 'postgres';
  query: Query;
  /** Runs `fn` in one transaction (one connection), committing when it resolves. */
  transaction<R>(
    fn: (query: Query, exec: (sql: string) => Promise<void>) => Promise<R>,
  ): Promise<R>;
  close(): Promise<void>;
}

/** In-process PostgreSQL compiled to WebAssembly, in memory: nothing to install. */
async function openPglite(): Promise<SqlDriver> {
  const db = new PGlite();
  await db.waitReady;
  return {
    kind: 'pglite',
    query: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await db.query<T>(sql, [...params])).rows,
    transaction: (fn) =>
      db.transaction((tx) =>
        fn(
          async <T>(sql: string, params: readonly unknown[] = []) =>
            (await tx.query<T>(sql, [...params])).rows,
          async (sql: string) => void (await tx.exec(sql)),
        ),
      ),
    close: () => db.close(),
  };
}

/** A real PostgreSQL server, through a `pg` pool. */
function openPostgres(url: string, logger: Logger): SqlDriver {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn(`idle PostgreSQL connection failed: ${err.message}`));
  return {
    kind: 'postgres',
    query: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await pool.query(sql, [...params])).rows as T[],
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(
          async <T>(sql: string, params: readonly unknown[] = []) =>
            (await client.query(sql, [...params])).rows as T[],
          async (sql: string) => void (await client.query(sql)),
        );
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** Advisory lock key held while seeding (any constant shared by the demo's instances). */
const SEED_LOCK = 4_721_001;

/** Hides the password of a connection string, for logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

/**
 * The demo's database: PGlite in memory by default, PostgreSQL when `DATABASE_URL` is set.
 * Every query the application issues goes through `query`, which counts it: `queries` is how the
 * demo shows the database work the cache saves. Seeding at start is not counted.
 */
export class Database implements OnApplicationShutdown {
  /** Queries issued by the application since start (seeding excluded). */
  queries = 0;
  private closed = false;
  private readonly logger = new Logger('Database');

  private constructor(private readonly driver: SqlDriver) {}

  /** Opens PostgreSQL at `url`, or PGlite in memory when there is none. */
  static async connect(url: string | undefined): Promise<Database> {
    const logger = new Logger('Database');
    const driver = url ? openPostgres(url, logger) : await openPglite();
    logger.log(url ? `PostgreSQL at ${redact(url)}` : 'PGlite, in memory');
    return new Database(driver);
  }

  /** `'pglite'` or `'postgres'`. */
  get kind(): SqlDriver['kind'] {
    return this.driver.kind;
  }

  /** Runs one parameterized statement (`$1`, `$2`...) and resolves to its rows. Counted. */
  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.queries++;
    return this.driver.query<T>(sql, params);
  }

  /**
   * Creates the tables when missing and fills each one only when it is empty, in one transaction
   * under an advisory lock, so instances starting together on one PostgreSQL do not race.
   */
  async seed(): Promise<void> {
    const started = performance.now();
    const inserted = await this.driver.transaction(async (query, exec) => {
      await query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK]);
      await exec(SCHEMA_SQL);
      const isEmpty = async (table: string) =>
        (await query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${table}) AS empty`))[0]!
          .empty;
      const data = seedData();
      const counts: string[] = [];
      /** Fills `table` from `rows` (one statement, through `json_to_recordset`) when it is empty. */
      const fill = async (
        table: string,
        columns: Record<string, string>,
        rows: readonly object[],
      ): Promise<boolean> => {
        if (!(await isEmpty(table))) return false;
        const names = Object.keys(columns).join(', ');
        const types = Object.entries(columns)
          .map(([name, type]) => `${name} ${type}`)
          .join(', ');
        await query(
          `INSERT INTO ${table} (${names}) SELECT ${names} FROM json_to_recordset($1::json) AS r(${types})`,
          [JSON.stringify(rows)],
        );
        counts.push(`${rows.length} ${table}`);
        return true;
      };
      await fill(
        'products',
        {
          id: 'integer',
          name: 'text',
          category: 'text',
          price_cents: 'integer',
          popularity: 'integer',
        },
        data.products,
      );
      await fill('users', { id: 'integer', name: 'text', email: 'text' }, data.users);
      const orderColumns = {
        id: 'integer',
        user_id: 'integer',
        product_id: 'integer',
        quantity: 'integer',
        created_at: 'timestamptz',
      };
      if (await fill('orders', orderColumns, data.orders)) {
        // The seed gave explicit ids: new orders continue after them.
        await query(
          `SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))`,
        );
      }
      await query(
        `INSERT INTO settings (key, value) SELECT key, value FROM json_each_text($1::json) ON CONFLICT (key) DO NOTHING`,
        [JSON.stringify(SETTINGS)],
      );
      return counts;
    });
    const ms = Math.round(performance.now() - started);
    this.logger.log(
      inserted.length === 0
        ? `already seeded (${ms} ms)`
        : `seeded ${inserted.join(', ')} in ${ms} ms`,
    );
  }

  /** Closes the database (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.driver.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
