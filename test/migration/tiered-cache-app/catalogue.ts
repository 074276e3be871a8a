import { Injectable, NotFoundException } from '@nestjs/common';

export interface Product {
  id: string;
  name: string;
}

/** The application's data, counting how often each kind of read really ran. */
@Injectable()
export class Catalogue {
  readonly reads = { list: 0, find: 0, featured: 0, landing: 0, renames: 0 };
  private readonly products = new Map<string, Product>(
    Array.from({ length: 30 }, (_, i) => [
      String(i + 1),
      { id: String(i + 1), name: `Product ${i + 1}` },
    ]),
  );

  page(page: number): Product[] {
    this.reads.list++;
    return [...this.products.values()].slice((page - 1) * 10, page * 10);
  }

  find(id: string): Product {
    this.reads.find++;
    const product = this.products.get(id);
    if (product === undefined) throw new NotFoundException(`no product ${id}`);
    return product;
  }

  featured(): Product[] {
    this.reads.featured++;
    return [this.find('1'), this.find('2')];
  }

  landing(campaign: string): { campaign: string; products: Product[] } {
    this.reads.landing++;
    return { campaign, products: [this.products.get('3')!] };
  }

  rename(id: string, name: string): Product {
    this.reads.renames++;
    const product = { ...this.find(id), name };
    this.products.set(id, product);
    return product;
  }
}
