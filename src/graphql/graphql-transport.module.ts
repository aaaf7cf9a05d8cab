import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { join } from 'node:path';
import { AuthModule } from '../auth/auth.module';
import { AppConfigService } from '../config/app-config.service';
import { AppErrorFilter } from './app-error.filter';
import { DocumentCache } from './document-cache';
import { formatParseLimit } from './document-parsing';
import { graphqlContext } from './graphql-context';
import { formatError } from './graphql-error';
import { GRAPHQL_PATH, GraphqlWsServer } from './graphql-ws.server';
import { graphqlValidationRules } from './validation-rules';
import { websocketRequiredPlugin } from './websocket-required.plugin';

/** Where the generated schema is written: the repository root, committed as `schema.gql`. */
export const SCHEMA_FILE = join(__dirname, '..', '..', 'schema.gql');

/**
 * The GraphQL transport: Apollo over HTTP on /graphql (code-first), graphql-ws for
 * subscriptions, the JSON and DateTime scalars, and the error filter.
 */
@Module({
  imports: [
    AuthModule,
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
        validationRules: graphqlValidationRules(config.isProduction),
        // The parser stops after this many tokens: its cost grows with what it reads.
        parseOptions: { maxTokens: config.limits.maxDocumentTokens },
        // No "Did you mean ...?" hints about the schema in production.
        hideSchemaDetailsFromClientErrors: config.isProduction,
        // A JSON body or a preflight header is required: no simple cross-site POST or GET runs.
        csrfPrevention: true,
        // One operation per request: a JSON array of operations is refused.
        allowBatchedHttpRequests: false,
        includeStacktraceInErrorResponses: false,
        // A document the parser gave up on (too many tokens, nested too deep) reads as the
        // limit it broke, like the validation rules' refusals.
        formatError: (formatted) => formatError(formatParseLimit(formatted)),
        // No cache hints anywhere in the schema (every answer is per caller, or a mutation):
        // without the plugin Apollo does not wrap every field's resolver to collect them.
        // (The cast: the plugin's types come from @apollo/server's ESM build, Nest's from CJS.)
        plugins: [
          ApolloServerPluginCacheControlDisabled(),
          websocketRequiredPlugin(GRAPHQL_PATH),
        ] as ApolloDriverConfig['plugins'],
        context: graphqlContext,
        // Apollo's default cache of validated documents counts each by its JSON, a fifth of
        // the heap it takes: this one is bounded by the heap.
        documentStore: new DocumentCache(),
      }),
    }),
  ],
  providers: [GraphqlWsServer, { provide: APP_FILTER, useClass: AppErrorFilter }],
  exports: [GraphqlWsServer],
})
export class GraphqlTransportModule {}
