import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { join } from 'node:path';
import { AuthModule } from '../auth/auth.module';
import { AppConfigService } from '../config/app-config.service';
import { AppErrorFilter } from './app-error.filter';
import { GraphqlHttpDriver, type GraphqlHttpDriverConfig } from './graphql-http.driver';
import { GRAPHQL_PATH, GraphqlWsServer } from './graphql-ws.server';

/** Where the generated schema is written: the repository root, committed as `schema.gql`. */
export const SCHEMA_FILE = join(__dirname, '..', '..', 'schema.gql');

/**
 * The GraphQL transport: the schema built code-first from the resolvers, served over HTTP on
 * /graphql (graphql-http, GraphqlHttpDriver) and over graphql-ws on the same path, with the
 * JSON and DateTime scalars and the error filter.
 */
@Module({
  imports: [
    AuthModule,
    GraphQLModule.forRootAsync<GraphqlHttpDriverConfig>({
      driver: GraphqlHttpDriver,
      inject: [AppConfigService],
      useFactory: (config: AppConfigService) => ({
        path: GRAPHQL_PATH,
        // Written when the schema changes outside production; committed as schema.gql.
        autoSchemaFile: config.isProduction ? true : SCHEMA_FILE,
        sortSchema: true,
        // Field resolvers (Mailbox.messages) get the same guard and error filter as operations.
        fieldResolverEnhancers: ['guards', 'filters'],
        production: config.isProduction,
        documents: {
          maxTokens: config.limits.maxDocumentTokens,
          maxBytes: config.limits.maxDocumentBytes,
        },
      }),
    }),
  ],
  providers: [GraphqlWsServer, { provide: APP_FILTER, useClass: AppErrorFilter }],
  exports: [GraphqlWsServer],
})
export class GraphqlTransportModule {}
