/** Process entry of `npm start`: runs the server with settings from the environment. */
import { loadConfigOrExit, runServer } from './server.js';

await runServer(loadConfigOrExit());
