import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { join } from 'node:path';
import { AppConfigService } from '../config/app-config.service';
import { AppErrorFilter } from './app-error.filter';
import { formatError } from './graphql-error';
import { GRAPHQL_PATH, GraphqlWsServer } from './graphql-ws.server';

/** Where the generated schema is written: the repository root, committed as `schema.gql`. */
export const SCHEMA_FILE = join(__dirname, '..', '..', 'schema.gql');

/**
 * The GraphQL transport: Apollo over HTTP on /graphql (code-first), graphql-ws for
 * subscriptions, the JSON and DateTime scalars, and the error filter.
 */
@Module({
  imports: [
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [AppConfigService],
      useFactory: (config: AppConfigService) => ({
        path: GRAPHQL_PATH,
        // Written when the schema changes outside production; committed as schema.gql.
        autoSchemaFile: config.isProduction ? true : SCHEMA_FILE,
        sortSchema: true,
        // Field resolvers (Mailbox.messages) get the same guard and error filter as operations.
        fieldResolverEnhancers: ['guards', 'filters'],
        // The landing page loads its assets from a CDN, which offline machines cannot reach.
        graphiql: false,
        introspection: !config.isProduction,
        includeStacktraceInErrorResponses: false,
        formatError,
        context: ({ req }: { req: unknown }) => ({ req }),
      }),
    }),
  ],
  providers: [GraphqlWsServer, { provide: APP_FILTER, useClass: AppErrorFilter }],
  exports: [GraphqlWsServer],
})
export class GraphqlTransportModule {}
