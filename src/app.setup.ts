import type { INestApplication } from '@nestjs/common';
import { json, type Application, type NextFunction, type Request, type Response } from 'express';
import { AppConfigService } from './config/app-config.service';
import { bodyRefusal, declaredTooLarge, requireUtf8 } from './graphql/request-body';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
  length?: number;
}

/**
 * What the HTTP layer needs beyond the modules: a JSON body limit that fits one full-size
 * message and its envelope (Express's 100 kB does not), with refusals answered as GraphQL
 * errors rather than HTML pages. Shutdown is main.ts's: it orders the steps on SIGTERM.
 */
export function configureApp(app: INestApplication): void {
  // Answers are per caller and never revalidated: no ETag (a SHA-1 of every response body,
  // computed per request), and no X-Powered-By header naming the framework.
  const express = app.getHttpAdapter().getInstance() as Application;
  express.set('etag', false);
  express.disable('x-powered-by');
  const limit = app.get(AppConfigService).limits.maxRequestBytes;
  const parse = json({
    limit,
    type: ['application/json', 'application/graphql-response+json'],
    verify: (_req, _res, body) => requireUtf8(body),
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const declared = declaredTooLarge(req.headers['content-length'], limit);
    if (declared !== null) {
      // Answered before the upload: the body parser would read all of it first. The connection
      // closes after the answer, so the rest of the upload is never read.
      const refusal = bodyRefusal({ tooLarge: true, length: declared }, limit);
      res.setHeader('connection', 'close');
      res.status(refusal.status).json(refusal.body);
      return;
    }
    parse(req, res, (error?: unknown) => {
      if (!error) {
        next();
        return;
      }
      const failure = error as BodyParserError;
      const tooLarge = failure.type === 'entity.too.large';
      const refusal = bodyRefusal(
        { tooLarge, length: failure.length, reason: failure.message, status: failure.status },
        limit,
      );
      res.status(refusal.status).json(refusal.body);
    });
  });
}
