import {
  Controller,
  Get,
  Injectable,
  NotFoundException,
  Param,
  ParseIntPipe,
} from '@nestjs/common';
import { Cached } from 'nest-tiered-cache';
import { Database } from '../database/database.js';

/** A customer. */
export interface User {
  id: number;
  name: string;
  email: string;
}

/** The `users` table (one query a call). */
@Injectable()
export class UsersRepository {
  constructor(private readonly db: Database) {}

  async findOne(id: number): Promise<User | undefined> {
    return (await this.db.query<User>('SELECT id, name, email FROM users WHERE id = $1', [id]))[0];
  }
}

/** `GET /users/:id`, cached per user. */
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersRepository) {}

  @Get(':id')
  @Cached({ key: 'user:{id:int}', ttl: '5m', tags: ['users'] })
  async findOne(@Param('id', ParseIntPipe) id: number): Promise<User> {
    const user = await this.users.findOne(id);
    if (user === undefined) throw new NotFoundException(`user ${id} not found`);
    return user;
  }
}
