/**
 * Platforms are the integrators that own organizations. They are created by the operator (CLI) or, once, on the
 * first start of an empty database; each comes with a one-time setup token for `POST /v1/auth/bootstrap`.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import type { Clock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { toUtcString } from '../../shared/time.js';
import type { ApiKeyService } from '../api-keys/api-key.service.js';
import type { PlatformRepository, PlatformRow } from './platform.repository.js';

export const DEFAULT_PLATFORM_NAME = 'Default platform';
const DEFAULT_PLATFORM_EVENT = 'default_platform_created';

export interface PlatformWithSetupToken {
  readonly platform: PlatformRow;
  readonly setupToken: string;
}

export interface PlatformServiceDeps {
  readonly repository: PlatformRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly apiKeys: Pick<ApiKeyService, 'issueSetupToken'>;
}

export function createPlatformService({ repository, unitOfWork, clock, apiKeys }: PlatformServiceDeps) {
  async function insertPlatform(name: string): Promise<PlatformWithSetupToken> {
    const platform: PlatformRow = { id: newId('plt'), name, created_at: toUtcString(clock.now()) };
    await repository.insert(platform);
    const setupToken = await apiKeys.issueSetupToken(platform.id);
    return { platform, setupToken };
  }

  return {
    /** Creates a platform and its setup token (the token is returned once, stored only hashed). */
    createPlatform(name: string): Promise<PlatformWithSetupToken> {
      return unitOfWork.transaction(() => insertPlatform(name));
    },

    /** Issues a new setup token for an existing platform, e.g. after every platform key was revoked. */
    async issueSetupToken(platformId: string): Promise<PlatformWithSetupToken | null> {
      return unitOfWork.transaction(async () => {
        const platform = await repository.findById(platformId);
        if (platform === undefined) return null;
        return { platform, setupToken: await apiKeys.issueSetupToken(platform.id) };
      });
    },

    /**
     * On an empty database, creates the default platform and returns its setup token; otherwise null. The event
     * is recorded once, so two servers starting together on one empty database create one platform.
     */
    ensureDefaultPlatform(): Promise<PlatformWithSetupToken | null> {
      return unitOfWork.transaction(async () => {
        if ((await repository.count()) > 0) return null;
        if (!(await repository.recordSystemEventOnce(DEFAULT_PLATFORM_EVENT, toUtcString(clock.now())))) return null;
        return insertPlatform(DEFAULT_PLATFORM_NAME);
      });
    },
  };
}

export type PlatformService = ReturnType<typeof createPlatformService>;
