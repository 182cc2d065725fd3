#!/usr/bin/env node
/**
 * The operator's command line: `openfiskal serve | migrate | setup-token | verify-journal`. It reads the same
 * environment as the server and can run beside it on the same SQLite file.
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

program
  .command('verify-journal')
  .description(
    "Recompute a register's journal hash chain. Exit status 0: intact, 1: broken, 2: usage error or unknown register.",
  )
  .option('--register <id>', 'the register (reg_…)')
  .option('--json', "print the verification as JSON (the API's journal_verification object)")
  // Usage errors exit 2, so that scripts can tell them from a broken chain (1).
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (options, command) => {
    const registerId = options.register;
    if (registerId === undefined) {
      command.error('verify-journal needs --register reg_…', { exitCode: 2 });
      return;
    }
    if (!isId('reg', registerId)) {
      command.error(`--register ${registerId} is not a register id (reg_…)`, { exitCode: 2 });
    }
    const config = loadConfigOrExit();
    const database = await openDatabase(config);
    let verification: Awaited<ReturnType<Container['journal']['verifyRegister']>>;
    try {
      const container = createContainer({
        config,
        database,
        keys: deriveKeys(loadOrCreateMasterKey(config.dataDir, config.masterKey)),
        clock: systemClock,
        logger: createLogger('silent'),
      });
      verification = await container.journal.verifyRegister(registerId);
    } finally {
      await database.destroy();
    }
    if (verification === null) {
      command.error(`No such register: ${registerId}`, { exitCode: 2 });
      return;
    }
    const { entries_checked: checked, length } = verification;
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify(verification, null, 2)}\n`);
    } else {
      const { first_broken: broken } = verification;
      const lines =
        broken === null
          ? [
              `Journal of ${registerId}: valid`,
              `  entries:     ${String(checked)} of ${String(length)} checked`,
              `  head hash:   ${verification.head_hash}`,
            ]
          : [
              `Journal of ${registerId}: BROKEN at seq ${String(broken.seq)} (${broken.reason})`,
              `  expected:    ${broken.expected}`,
              `  actual:      ${broken.actual}`,
              `  intact:      ${String(checked)} of ${String(length)} entries before the break`,
              `  last intact: ${verification.head_hash}`,
            ];
      process.stdout.write(`${[...lines, `  verified at: ${verification.verified_at}`].join('\n')}\n`);
    }
    process.exitCode = verification.valid ? 0 : 1;
  });

await program.parseAsync();
