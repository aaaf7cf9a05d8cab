import { Controller, Get, Logger, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { AppConfigService } from '../config/app-config.service';
import { loadConsoleAssets, type ConsoleAsset } from './console-assets';

/**
 * The pages' Content-Security-Policy: every script, style and connection from the service
 * itself. `connect-src 'self'` takes in the service's own WebSocket (ws: or wss: to the page's
 * host and port, CSP Level 3) and no other host. The console has no inline style; the
 * explorer's editor (Monaco) sets some, runs web workers and loads its icon font.
 */
const CONSOLE_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const EXPLORER_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "style-src 'self' 'unsafe-inline'; font-src 'self' data:; script-src 'self'; " +
  "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * `/console` (the operator console) and `/console/graphiql` (the GraphQL explorer): static
 * files built by `npm run build`, read once at start and served from memory, gzipped where
 * the client takes it. Public, like any web page: what they show comes from the API, which
 * asks for the admin token.
 */
@Public()
@Controller('console')
export class ConsoleController {
  private readonly logger = new Logger(ConsoleController.name);
  private readonly assets: Map<string, ConsoleAsset>;

  constructor(private readonly config: AppConfigService) {
    this.assets = config.consoleEnabled ? loadConsoleAssets() : new Map<string, ConsoleAsset>();
    if (config.consoleEnabled && this.assets.size === 0) {
      this.logger.warn('the console is not built (npm run build builds it): /console answers 503');
    }
  }

  @Get()
  async page(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.serve('', request, reply);
  }

  @Get('*')
  async file(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const path = (request.params as Record<string, string | undefined>)['*'] ?? '';
    await this.serve(path.replace(/\/+$/, ''), request, reply);
  }

  private async serve(path: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!this.config.consoleEnabled) {
      await reply.code(404).send({ message: 'the console is off (CONSOLE_ENABLED=false)' });
      return;
    }
    if (this.assets.size === 0) {
      await reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built: run npm run build, then start the service again.\n');
      return;
    }
    const asset = this.assets.get(path);
    if (!asset) {
      await reply.code(404).send({ message: `no console file at /console/${path}` });
      return;
    }
    void reply
      .header('content-type', asset.type)
      .header('etag', asset.etag)
      .header('vary', 'accept-encoding')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header(
        'cache-control',
        asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    if (asset.type.startsWith('text/html')) {
      void reply
        .header('content-security-policy', path === 'graphiql' ? EXPLORER_POLICY : CONSOLE_POLICY)
        .header('x-frame-options', 'DENY');
    }
    if (request.headers['if-none-match'] === asset.etag) {
      await reply.code(304).send();
      return;
    }
    const gzip =
      asset.gzipped !== null && /\bgzip\b/.test(String(request.headers['accept-encoding']));
    if (gzip) void reply.header('content-encoding', 'gzip');
    await reply.send(gzip ? asset.gzipped : asset.body);
  }
}
