import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Post, Version, VERSION_NEUTRAL } from '@nestjs/common';
import { MODULE_PATH, PATH_METADATA } from '@nestjs/common/constants.js';
import { defaultRouteKeyFor } from './route-keys.js';
import { routeParamNames, routeVersion } from './route-params.js';

@Controller('orgs/:orgId/users')
class UsersController {
  @Get(':id')
  findOne(): string {
    return 'one';
  }

  @Get(['a/:x', 'b/:y'])
  several(): string {
    return 'several';
  }

  @Get('files/*path')
  wildcard(): string {
    return 'file';
  }

  @Get()
  list(): string {
    return 'list';
  }

  @Post(':orgId/copy/:id')
  repeated(): string {
    return 'repeated';
  }

  @Get(':slug-:rev/:file.json')
  punctuated(): string {
    return 'punctuated';
  }

  undecorated(): string {
    return 'plain';
  }
}

@Controller()
class RootController {
  @Get()
  index(): string {
    return 'index';
  }

  @Get('health/:probe')
  probe(): string {
    return 'probe';
  }
}

@Controller(['v1/:version', 'legacy/:legacyId'])
class MultiPathController {
  @Get('items/:itemId')
  item(): string {
    return 'item';
  }
}

@Controller({ path: 'shops/:shopId' })
class OptionsController {
  @Get(':productId')
  product(): string {
    return 'product';
  }
}

@Module({ controllers: [UsersController] })
class TenantModule {}
Reflect.defineMetadata(MODULE_PATH + 'some-app-id', 'tenants/:tenantId', TenantModule);

@Module({ controllers: [UsersController] })
class TwoAppsModule {}
Reflect.defineMetadata(MODULE_PATH + 'app-1', 'regions/:region', TwoAppsModule);
Reflect.defineMetadata(MODULE_PATH + 'app-2', 'zones/:zone/:orgId', TwoAppsModule);

@Module({ controllers: [RootController] })
class PlainModule {}
Reflect.defineMetadata('other-metadata', 'not/:a/path', PlainModule);
Reflect.defineMetadata(Symbol('symbol-key'), 'also/:not', PlainModule);

const proto = UsersController.prototype;

describe('routeParamNames', () => {
  it('reads the decorators the way Nest stores them', () => {
    expect(Reflect.getMetadata(PATH_METADATA, UsersController)).toBe('orgs/:orgId/users');
    expect(Reflect.getMetadata(PATH_METADATA, proto.findOne)).toBe(':id');
    expect(Reflect.getMetadata(PATH_METADATA, proto.several)).toEqual(['a/:x', 'b/:y']);
  });

  it('joins the controller and the method params, controller first', () => {
    expect(routeParamNames(UsersController, proto.findOne, undefined)).toEqual(['orgId', 'id']);
  });

  it('takes the params of every path of a method with several paths', () => {
    expect(routeParamNames(UsersController, proto.several, undefined)).toEqual(['orgId', 'x', 'y']);
  });

  it('names a wildcard *path', () => {
    expect(routeParamNames(UsersController, proto.wildcard, undefined)).toEqual(['orgId', 'path']);
  });

  it('reads only the controller params for a method without a path', () => {
    expect(routeParamNames(UsersController, proto.list, undefined)).toEqual(['orgId']);
  });

  it('lists a name used twice once', () => {
    expect(routeParamNames(UsersController, proto.repeated, undefined)).toEqual(['orgId', 'id']);
  });

  it('stops a name at punctuation', () => {
    expect(routeParamNames(UsersController, proto.punctuated, undefined)).toEqual([
      'orgId',
      'slug',
      'rev',
      'file',
    ]);
  });

  it('reads a handler without path metadata as having none', () => {
    expect(routeParamNames(UsersController, proto.undecorated, undefined)).toEqual(['orgId']);
    expect(routeParamNames(class Bare {}, function bare() {}, undefined)).toEqual([]);
  });

  it('gives nothing for a controller and method without params', () => {
    expect(routeParamNames(RootController, RootController.prototype.index, undefined)).toEqual([]);
    expect(routeParamNames(RootController, RootController.prototype.probe, undefined)).toEqual([
      'probe',
    ]);
  });

  it('takes the params of every path of a controller with several paths', () => {
    expect(
      routeParamNames(MultiPathController, MultiPathController.prototype.item, undefined),
    ).toEqual(['version', 'legacyId', 'itemId']);
  });

  it('reads a controller declared with an options object', () => {
    expect(
      routeParamNames(OptionsController, OptionsController.prototype.product, undefined),
    ).toEqual(['shopId', 'productId']);
  });

  it('adds the params of a RouterModule path of the module', () => {
    expect(routeParamNames(UsersController, proto.findOne, TenantModule)).toEqual([
      'orgId',
      'id',
      'tenantId',
    ]);
    expect(routeParamNames(UsersController, proto.several, TenantModule)).toEqual([
      'orgId',
      'x',
      'y',
      'tenantId',
    ]);
  });

  it('adds the RouterModule paths of every application, without duplicates', () => {
    expect(routeParamNames(UsersController, proto.findOne, TwoAppsModule)).toEqual([
      'orgId',
      'id',
      'region',
      'zone',
    ]);
  });

  it('ignores module metadata that is not a RouterModule path', () => {
    expect(routeParamNames(RootController, RootController.prototype.probe, PlainModule)).toEqual([
      'probe',
    ]);
  });

  it('ignores non-string paths', () => {
    class Odd {}
    function handler() {}
    Reflect.defineMetadata(PATH_METADATA, [':a', 42, null, { path: ':b' }], Odd);
    Reflect.defineMetadata(PATH_METADATA, 7, handler);
    expect(routeParamNames(Odd, handler, undefined)).toEqual(['a']);
  });
});

describe('routeVersion (issue 13: versioned routes may share a path)', () => {
  @Controller({ path: 'items', version: ['1', '2'] })
  class Items {
    @Get()
    inherited(): string {
      return 'both';
    }

    @Get()
    @Version('3')
    own(): string {
      return 'three';
    }

    @Get()
    @Version(VERSION_NEUTRAL)
    neutral(): string {
      return 'neutral';
    }
  }

  @Controller('plain')
  class Plain {
    @Get()
    plain(): string {
      return 'plain';
    }
  }

  it('reads the method version, else the controller version', () => {
    expect(routeVersion(Items, Items.prototype.inherited)).toBe('1,2');
    expect(routeVersion(Items, Items.prototype.own)).toBe('3');
    expect(routeVersion(Items, Items.prototype.neutral)).toBe('neutral');
    expect(routeVersion(Plain, Plain.prototype.plain)).toBeUndefined();
  });

  it('puts the version in the default key', () => {
    const request = { method: 'GET', url: '/items', headers: {} };
    expect(defaultRouteKeyFor(undefined)(request)).toBe('http:/items');
    expect(defaultRouteKeyFor('3')(request)).toBe('http@3:/items');
    expect(defaultRouteKeyFor('1,2')(request)).toBe('http@1,2:/items');
  });
});
