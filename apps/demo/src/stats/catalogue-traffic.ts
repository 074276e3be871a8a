import { Injectable, type NestMiddleware } from '@nestjs/common';

interface ResponseLike {
  statusCode: number;
  once(event: 'finish', listener: () => void): unknown;
}

/** How many catalogue requests the application has answered. */
@Injectable()
export class CatalogueTraffic {
  requestsServed = 0;
}

/**
 * Counts the requests of the catalogue routes (products, users, orders, config) once answered.
 * Without the cache each of them costs exactly one database query, so the count is also the
 * number of queries the demo would have issued uncached. Requests rejected before reaching the
 * database (400: a malformed id, page or body) are left out; a 404 did query, so it counts.
 */
@Injectable()
export class CountCatalogueRequests implements NestMiddleware {
  constructor(private readonly traffic: CatalogueTraffic) {}

  use(_req: unknown, res: ResponseLike, next: () => void): void {
    res.once('finish', () => {
      if (res.statusCode < 400 || res.statusCode === 404) this.traffic.requestsServed++;
    });
    next();
  }
}
