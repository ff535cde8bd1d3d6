import { CATEGORIES, type Category, type ClientEnvironment } from '../classify/categories.js';
import { createRng, mixSeed, rngUuid } from './prng.js';
import { SCENARIOS, pickScenario, scenarioAt } from './scenarios.js';
import { drawCredential, isoDate, seededCredential, seededEvents, seededProfile, seededUserId } from './seeded-user.js';
import { expectedCategoryOf } from './taxonomy.js';
import type { SimCredential, SimEvent, SimUserProfile, SimUserView } from './types.js';

/** A user whose state is stored explicitly (created or changed through the control API). */
interface StoredUser {
  profile: SimUserProfile;
  credential: SimCredential | null;
  events: SimEvent[];
}

/** Fields the control API may set on a credential. */
export interface CredentialPatch {
  status?: string;
  clientEnvironment?: ClientEnvironment;
  organizationCode?: string;
}

/** An event as the control API receives it: `id` and `createdDate` are filled in when missing. */
export interface EventInput {
  id?: string | number;
  createdDate?: string | null;
  statusCode?: unknown;
  headers?: unknown;
  body?: unknown;
  [extra: string]: unknown;
}

/**
 * The simulated Leaf users. Seeded users cost a scenario byte and an id; their profile, credential and
 * events are generated on request. Users the control API touched are stored explicitly.
 */
export class Population {
  private readonly scenarioOf: Uint8Array;
  private readonly seededIndex = new Map<string, number>();
  private readonly stored = new Map<string, StoredUser>();
  private order: string[];
  private readonly rng;

  constructor(
    readonly seed: number,
    users: number,
    readonly anchorMs: number,
    private readonly now: () => number,
  ) {
    this.scenarioOf = new Uint8Array(users);
    this.order = new Array<string>(users);
    for (let i = 0; i < users; i += 1) {
      this.scenarioOf[i] = pickScenario(createRng(mixSeed(seed, i ^ 0x5eed)).next());
      const id = seededUserId(seed, i);
      this.order[i] = id;
      this.seededIndex.set(id, i);
    }
    this.rng = createRng(mixSeed(seed, 0xc0ffee));
  }

  /** Number of users Leaf currently lists. */
  get size(): number {
    return this.order.length;
  }

  /** Ids in listing order, `size` per page from page 0. */
  page(page: number, size: number): string[] {
    return this.order.slice(page * size, page * size + size);
  }

  /** Every id, in listing order (a copy). */
  ids(): string[] {
    return [...this.order];
  }

  has(id: string): boolean {
    return this.stored.has(id) || this.seededIndex.has(id);
  }

  profile(id: string): SimUserProfile | undefined {
    const stored = this.stored.get(id);
    if (stored) return stored.profile;
    const index = this.seededIndex.get(id);
    return index === undefined ? undefined : seededProfile(this.seed, index, id);
  }

  /** The user's credential; null when it has none, undefined when the user does not exist. */
  credential(id: string): SimCredential | null | undefined {
    const stored = this.stored.get(id);
    if (stored) return stored.credential;
    const index = this.seededIndex.get(id);
    if (index === undefined) return undefined;
    return seededCredential(this.seed, index, this.scenarioOf[index] ?? 0, this.anchorMs);
  }

  /** The user's credential event log; null when it has no credential, undefined when unknown. */
  events(id: string): SimEvent[] | null | undefined {
    const stored = this.stored.get(id);
    if (stored) return stored.credential === null ? null : stored.events;
    const index = this.seededIndex.get(id);
    if (index === undefined) return undefined;
    const scenarioIndex = this.scenarioOf[index] ?? 0;
    const credential = seededCredential(this.seed, index, scenarioIndex, this.anchorMs, false);
    return credential === null ? null : seededEvents(this.seed, index, scenarioIndex, credential, this.anchorMs);
  }

  /** The category the taxonomy gives this user now, or undefined for an unknown user. */
  expectedCategory(id: string): Category | undefined {
    const stored = this.stored.get(id);
    if (stored) return expectedCategoryOf(stored.credential, stored.events);
    const index = this.seededIndex.get(id);
    return index === undefined ? undefined : scenarioAt(this.scenarioOf[index] ?? 0).category;
  }

  /** The seeded scenario's name, or 'custom' for a user the control API created or changed. */
  scenarioName(id: string): string | undefined {
    if (this.stored.has(id)) return 'custom';
    const index = this.seededIndex.get(id);
    return index === undefined ? undefined : SCENARIOS[this.scenarioOf[index] ?? 0]?.name;
  }

  /** Everything about one user, for the control API. */
  view(id: string): SimUserView | undefined {
    const profile = this.profile(id);
    const credential = this.credential(id);
    const category = this.expectedCategory(id);
    if (profile === undefined || credential === undefined || category === undefined) return undefined;
    return { ...profile, credential, events: this.events(id) ?? [], expectedCategory: category };
  }

  /** How many users the taxonomy puts in each category. */
  mix(): Record<Category, number> {
    const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
    for (const id of this.order) {
      const category = this.expectedCategory(id);
      if (category !== undefined) counts[category] += 1;
    }
    return counts;
  }

  /** Creates a user; throws a RangeError when the id is taken. */
  create(input: {
    id?: string;
    name?: string;
    email?: string;
    externalId?: string;
    clientEnvironment?: ClientEnvironment;
    credential?: (CredentialPatch & { clientId?: string; username?: string }) | null;
    events?: EventInput[];
  }): string {
    const id = input.id ?? rngUuid(this.rng);
    if (this.has(id)) throw new RangeError(`user ${id} already exists`);
    if (input.credential === null && input.events !== undefined && input.events.length > 0) {
      throw new RangeError('events need a credential: do not set credential to null');
    }
    const n = this.order.length;
    const profile: SimUserProfile = {
      id,
      name: input.name ?? `Scripted User ${n}`,
      email: input.email ?? `scripted.${n}@example-farms.com`,
      externalId: input.externalId ?? `scripted-${n}`,
    };
    let credential: SimCredential | null = null;
    if (input.credential !== null) {
      const patch = input.credential ?? {};
      const env = patch.clientEnvironment ?? input.clientEnvironment ?? 'PRODUCTION';
      credential = drawCredential(this.rng, this.now(), {
        username: patch.username ?? `partner-${this.rng.hex(6)}`,
        env,
        status: patch.status ?? 'OK',
      });
      if (patch.organizationCode !== undefined) credential.organizationCode = patch.organizationCode;
      if (patch.clientId !== undefined) credential.clientId = patch.clientId;
    }
    this.stored.set(id, { profile, credential, events: [] });
    this.order.push(id);
    if (input.events !== undefined && input.events.length > 0) this.appendEvents(id, input.events);
    return id;
  }

  /** Removes a user from Leaf. Returns false when it did not exist. */
  remove(id: string): boolean {
    if (!this.has(id)) return false;
    this.stored.delete(id);
    this.seededIndex.delete(id);
    const at = this.order.indexOf(id);
    if (at >= 0) this.order.splice(at, 1);
    return true;
  }

  /** Sets credential fields, creating a credential when there is none. Returns it and its previous status. */
  putCredential(id: string, patch: CredentialPatch): { credential: SimCredential; previousStatus: string | null } | undefined {
    const user = this.materialise(id);
    if (user === undefined) return undefined;
    const previousStatus = user.credential?.status ?? null;
    if (user.credential === null) {
      user.credential = drawCredential(this.rng, this.now(), {
        username: `partner-${this.rng.hex(6)}`,
        env: patch.clientEnvironment ?? 'PRODUCTION',
      });
      user.events = [];
    }
    if (patch.status !== undefined) user.credential.status = patch.status;
    if (patch.clientEnvironment !== undefined) user.credential.clientEnvironment = patch.clientEnvironment;
    if (patch.organizationCode !== undefined) user.credential.organizationCode = patch.organizationCode;
    return { credential: user.credential, previousStatus };
  }

  /** Detaches the credential (its log goes with it). False when the user does not exist. */
  deleteCredential(id: string): boolean {
    const user = this.materialise(id);
    if (user === undefined) return false;
    user.credential = null;
    user.events = [];
    return true;
  }

  /**
   * Appends events, filling `id` and `createdDate` (after every stored event) when missing. Returns the
   * events as stored; undefined for an unknown user; throws a RangeError when the user has no credential.
   */
  appendEvents(id: string, inputs: readonly EventInput[]): SimEvent[] | undefined {
    const user = this.materialise(id);
    if (user === undefined) return undefined;
    if (user.credential === null) throw new RangeError(`user ${id} has no credential: PUT one first`);
    let latest = this.now();
    for (const event of user.events) {
      const t = Date.parse(event.createdDate ?? '');
      if (t > latest) latest = t;
    }
    const added = inputs.map((input): SimEvent => {
      let createdDate = input.createdDate;
      if (createdDate === undefined) {
        latest += 1;
        createdDate = isoDate(latest, 6, 0);
      }
      // Served as scripted (body null, statusCode "503", no headers...): only a missing id or date is filled in.
      return {
        ...input,
        id: input.id === undefined ? rngUuid(this.rng) : String(input.id),
        createdDate,
        statusCode: input.statusCode,
        headers: 'headers' in input ? input.headers : '',
        body: 'body' in input ? input.body : '',
      };
    });
    user.events.push(...added);
    return added;
  }

  /** Turns a seeded user into a stored one (before a control change), keeping what it showed. */
  private materialise(id: string): StoredUser | undefined {
    const existing = this.stored.get(id);
    if (existing) return existing;
    const profile = this.profile(id);
    const credential = this.credential(id);
    if (profile === undefined || credential === undefined) return undefined;
    const user: StoredUser = { profile, credential, events: this.events(id) ?? [] };
    this.stored.set(id, user);
    return user;
  }
}
