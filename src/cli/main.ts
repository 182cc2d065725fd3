#!/usr/bin/env node
/**
 * The operator's command line: `openfiskal serve | migrate | setup-token`. It reads the same environment as the
 * server and can run beside it on the same SQLite file.
 * @module
 */
import { Command } from '@commander-js/extra-typings';
import { deriveKeys, loadOrCreateMasterKey } from '../crypto/master-key.js';
import { createContainer, type Container } from '../container.js';
import { createLogger } from '../logger.js';
import { isId } from '../shared/ids.js';
import { systemClock } from '../shared/clock.js';
import { loadConfigOrExit, openDatabase, runServer } from '../server.js';

const program = new Command()
  .name('openfiskal')
  .description('Open, self-hostable fiscalization server (OpenFiskal v1 API).')
  .showHelpAfterError();

program
  .command('serve')
  .description('Run the HTTP server (same as npm start).')
  .action(async () => {
    await runServer(loadConfigOrExit());
  });

program
  .command('migrate')
  .description('Apply pending database migrations and exit.')
  .action(async () => {
    const config = loadConfigOrExit();
    const database = await openDatabase(config);
    await database.destroy();
    process.stdout.write(`Database is up to date (${config.database.kind}).\n`);
  });

program
  .command('setup-token')
  .description('Create a platform and print its one-time setup token (or a new token for an existing platform).')
  .option('--platform-name <name>', 'name of the new platform')
  .option('--platform <id>', 'issue a new setup token for this existing platform (plt_…)')
  .action(async (options, command) => {
    if ((options.platformName === undefined) === (options.platform === undefined)) {
      command.error('setup-token needs exactly one of --platform-name NAME or --platform plt_…');
    }
    if (options.platform !== undefined && !isId('plt', options.platform)) {
      command.error(`--platform ${options.platform} is not a platform id (plt_…)`);
    }
    const config = loadConfigOrExit();
    const database = await openDatabase(config);
    let result: Awaited<ReturnType<Container['platforms']['createPlatform']>> | null;
    try {
      const container = createContainer({
        config,
        database,
        keys: deriveKeys(loadOrCreateMasterKey(config.dataDir, config.masterKey)),
        clock: systemClock,
        logger: createLogger('silent'),
      });
      result =
        options.platformName !== undefined
          ? await container.platforms.createPlatform(options.platformName)
          : await container.platforms.issueSetupToken(options.platform ?? '');
    } finally {
      await database.destroy();
    }
    if (result === null) {
      command.error(`No such platform: ${options.platform ?? ''}`);
      return;
    }
    process.stdout.write(`Platform: ${result.platform.id} (${result.platform.name})\n`);
    process.stdout.write(`Setup token: ${result.setupToken}\n`);
  });

await program.parseAsync();
