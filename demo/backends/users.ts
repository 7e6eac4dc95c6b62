// Demo "users" REST backend: 100 deterministic users with 3 posts each.
// Run: npx tsx demo/backends/users.ts --port 4001
import {
  badRequest,
  created,
  idFromPath,
  isMainModule,
  type JsonReply,
  listParam,
  notFound,
  ok,
  paginate,
  type RunningService,
  runServiceCli,
  type ServiceOptions,
  type ServiceRequest,
  startJsonService,
} from './http-service.js';

export type { RecordedRequest, RunningService } from './http-service.js';

export interface User {
  id: string;
  name: string;
  email: string;
  profile: { full_name: string | null };
}

export interface Post {
  id: string;
  userId: string;
  title: string;
  body: string;
}

export const USER_COUNT = 100;
export const POSTS_PER_USER = 3;

const ONES = [
  '',
  'One',
  'Two',
  'Three',
  'Four',
  'Five',
  'Six',
  'Seven',
  'Eight',
  'Nine',
  'Ten',
  'Eleven',
  'Twelve',
  'Thirteen',
  'Fourteen',
  'Fifteen',
  'Sixteen',
  'Seventeen',
  'Eighteen',
  'Nineteen',
];
const TENS = ['', '', 'Twenty', 'Thirty', 'Forty', 'Fifty', 'Sixty', 'Seventy', 'Eighty', 'Ninety'];

/** 7 -> "Seven", 42 -> "Forty Two", 100 -> "One Hundred" (1..100 is all the data needs). */
function numberInWords(n: number): string {
  if (n === 100) return 'One Hundred';
  if (n < 20) return ONES[n]!;
  const ones = n % 10;
  return ones === 0 ? TENS[Math.floor(n / 10)]! : `${TENS[Math.floor(n / 10)]!} ${ONES[ones]!}`;
}

export function makeUser(n: number): User {
  return {
    id: String(n),
    name: `User ${n}`,
    email: `user${n}@example.com`,
    profile: { full_name: `User ${numberInWords(n)} Example` },
  };
}

export function makePosts(userNumber: number): Post[] {
  return Array.from({ length: POSTS_PER_USER }, (_, index) => {
    const k = index + 1;
    return {
      id: String(userNumber * 10 + k),
      userId: String(userNumber),
      title: `Post ${k} of user ${userNumber}`,
      body: `Body of post ${k}, written by user ${userNumber}.`,
    };
  });
}

// One store per running service, so tests that POST users stay isolated.
function createUserStore() {
  const users: User[] = [];
  const usersById = new Map<string, User>();
  const posts: Post[] = [];

  const addUser = (user: User, userPosts: Post[]): void => {
    users.push(user);
    usersById.set(user.id, user);
    posts.push(...userPosts);
  };
  for (let n = 1; n <= USER_COUNT; n++) addUser(makeUser(n), makePosts(n));
  let nextId = USER_COUNT + 1;

  return {
    users,
    posts,
    usersById,
    create(name: string, email: string, fullName: string | null): User {
      const user: User = { id: String(nextId++), name, email, profile: { full_name: fullName } };
      addUser(user, []);
      return user;
    },
  };
}

function parseNewUser(body: unknown): { name: string; email: string; fullName: string | null } | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'request body must be a JSON object';
  }
  const { name, email, fullName } = body as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return 'name is required';
  if (typeof email !== 'string' || email === '') return 'email is required';
  if (fullName !== undefined && fullName !== null && typeof fullName !== 'string') {
    return 'fullName must be a string';
  }
  return { name, email, fullName: fullName ?? null };
}

export function startUsersService(opts: ServiceOptions = {}): Promise<RunningService> {
  const store = createUserStore();

  const route = ({ method, path, query, body }: ServiceRequest): JsonReply => {
    if (path === '/users') {
      if (method === 'POST') {
        const input = parseNewUser(body);
        if (typeof input === 'string') return badRequest(input);
        return created(store.create(input.name, input.email, input.fullName));
      }
      if (method !== 'GET') return notFound();
      if (query.has('ids')) {
        // Store order, unknown ids skipped: callers must not rely on request order.
        const wanted = new Set(listParam(query, 'ids'));
        return ok(store.users.filter((user) => wanted.has(user.id)));
      }
      return paginate(store.users, query);
    }

    if (method !== 'GET') return notFound();

    const userId = idFromPath(path, 'users');
    if (userId !== undefined) {
      const user = store.usersById.get(userId);
      return user ? ok(user) : notFound();
    }

    if (path === '/posts') {
      if (!query.has('userId')) return paginate(store.posts, query);
      const userIds = new Set(listParam(query, 'userId'));
      return ok(store.posts.filter((post) => userIds.has(post.userId)));
    }

    return notFound();
  };

  return startJsonService(route, opts);
}

if (isMainModule(import.meta.url)) {
  await runServiceCli('users', startUsersService);
}
