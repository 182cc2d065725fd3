/**
 * Graceful shutdown for keep-alive clients. Fastify stops accepting connections on close and drops the idle ones
 * once; a connection whose request was still running would then stay open after its response, and the drain would
 * wait for it until the grace period runs out. So, from the moment closing starts, responses say
 * `Connection: close`, and idle connections are closed until the server is down.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const SWEEP_INTERVAL_MS = 50;

export const drainPlugin = fp(
  (app: FastifyInstance) => {
    let closing = false;
    let sweeper: NodeJS.Timeout | undefined;

    app.addHook('preClose', (done) => {
      closing = true;
      sweeper = setInterval(() => app.server.closeIdleConnections(), SWEEP_INTERVAL_MS);
      sweeper.unref();
      done();
    });
    app.addHook('onClose', (_instance, done) => {
      clearInterval(sweeper);
      done();
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) void reply.header('connection', 'close');
      done(null, payload);
    });
    return Promise.resolve();
  },
  { name: 'drain' },
);
