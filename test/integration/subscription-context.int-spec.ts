import 'reflect-metadata';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import {
  GraphQLSchemaHost,
  PARAM_ARGS_METADATA,
  RESOLVER_NAME_METADATA,
  RESOLVER_PROPERTY_METADATA,
  RESOLVER_TYPE_METADATA,
} from '@nestjs/graphql';
import { GqlParamtype } from '@nestjs/graphql/dist/enums/gql-paramtype.enum.js';
import {
  astFromValue,
  defaultFieldResolver,
  execute,
  getNamedType,
  isAbstractType,
  isEnumType,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  parse,
  print,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLScalarType,
  type GraphQLSchema,
} from 'graphql';
import type { RequestContext } from '../../src/auth/auth.decorators';
import { RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';

// Subscribers of one feed with the same document share each event's execution
// (src/graphql/shared-execution.ts): the Subscription fields' `resolve` and every resolver of
// the payload's types run once, with the context of whichever subscriber came first. Only the
// `subscribe` functions run per subscriber. A resolver in the shared part that read the context
// (where the caller's principal is) would hand that subscriber's view to all the others.

/** Object, interface and union types that a subscription's payload can contain, by name. */
function payloadTypes(schema: GraphQLSchema): Map<string, GraphQLCompositeType> {
  const found = new Map<string, GraphQLCompositeType>();
  const pending: GraphQLNamedType[] = subscriptionFields(schema).map((field) =>
    getNamedType(field.type),
  );
  for (let type = pending.pop(); type !== undefined; type = pending.pop()) {
    if (!isCompositeType(type) || found.has(type.name)) continue;
    found.set(type.name, type);
    if (isUnionType(type)) {
      pending.push(...type.getTypes());
      continue;
    }
    for (const field of Object.values(type.getFields())) pending.push(getNamedType(field.type));
    pending.push(...type.getInterfaces());
    if (isInterfaceType(type)) pending.push(...schema.getPossibleTypes(type));
  }
  return found;
}

/** `Type.field` of every field of the types. */
function coordinatesOf(types: Iterable<GraphQLCompositeType>): string[] {
  return [...types].flatMap((type) =>
    isUnionType(type) ? [] : Object.keys(type.getFields()).map((field) => `${type.name}.${field}`),
  );
}

function subscriptionFields(schema: GraphQLSchema): GraphQLField<unknown, unknown>[] {
  return Object.values(schema.getSubscriptionType()?.getFields() ?? {});
}

/**
 * The parameter kinds that read only the event: @Parent()/@Root(), @Args() and @Info().
 * Anything else is @Context() or a custom decorator, which Nest hands the context.
 */
const EVENT_ONLY_PARAMETERS = new Set(
  [GqlParamtype.ROOT, GqlParamtype.ARGS, GqlParamtype.INFO].map(String),
);

/** `Type.field` of every @ResolveField method in the application, with the method's name. */
function fieldResolverMethods(
  modules: ModulesContainer,
): Array<{ coordinate: string; method: string; parameters: string[] }> {
  const scanner = new MetadataScanner();
  const methods: Array<{ coordinate: string; method: string; parameters: string[] }> = [];
  for (const module of modules.values()) {
    for (const wrapper of module.providers.values()) {
      const instance: unknown = wrapper.instance;
      if (typeof instance !== 'object' || instance === null) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, object>;
      for (const method of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[method];
        if (Reflect.getMetadata(RESOLVER_PROPERTY_METADATA, handler) !== true) continue;
        // Nest's own lookup: the type named on the method, else the class's @Resolver type.
        const typeName = (Reflect.getMetadata(RESOLVER_TYPE_METADATA, handler) ??
          Reflect.getMetadata(RESOLVER_TYPE_METADATA, instance.constructor)) as string;
        const fieldName =
          (Reflect.getMetadata(RESOLVER_NAME_METADATA, handler) as string | undefined) ?? method;
        const parameters = Object.keys(
          (Reflect.getMetadata(PARAM_ARGS_METADATA, instance.constructor, method) ?? {}) as object,
        );
        methods.push({
          coordinate: `${typeName}.${fieldName}`,
          method: `${instance.constructor.name}.${method}`,
          parameters,
        });
      }
    }
  }
  return methods;
}

const SCALAR_SAMPLES: Record<string, unknown> = {
  String: 'sample',
  ID: 'sample-id',
  Int: 1,
  Float: 1.5,
  Boolean: true,
};
/** Tried in turn for a custom scalar; the first its serializer accepts is used. */
const SCALAR_CANDIDATES: Array<() => unknown> = [
  () => new Date(0),
  () => ({ sample: true }),
  () => 'sample',
  () => 1,
  () => true,
];

function sampleScalar(type: GraphQLScalarType, accepts: (value: unknown) => unknown): unknown {
  if (type.name in SCALAR_SAMPLES) return SCALAR_SAMPLES[type.name];
  for (const candidate of SCALAR_CANDIDATES) {
    const value = candidate();
    try {
      accepts(value);
      return value;
    } catch {
      // Not this scalar's kind of value: try the next.
    }
  }
  throw new Error(`no sample value is accepted by the scalar ${type.name}: add one`);
}

function sampleInput(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleInput(type.ofType);
  if (isListType(type)) return [sampleInput(type.ofType)];
  if (isScalarType(type)) return sampleScalar(type, (value) => type.parseValue(value));
  if (isEnumType(type)) return type.getValues()[0]?.value;
  const value: Record<string, unknown> = {};
  if (isInputObjectType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type) && field.defaultValue === undefined) {
        value[field.name] = sampleInput(field.type);
      }
    }
  }
  return value;
}

/** The required arguments, as document text: `(mailbox: "sample")`. */
function requiredArguments(args: readonly GraphQLArgument[]): string {
  const given = args
    .filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)
    .map((arg) => {
      const literal = astFromValue(sampleInput(arg.type), arg.type);
      if (!literal) throw new Error(`no literal for argument ${arg.name}`);
      return `${arg.name}: ${print(literal)}`;
    });
  return given.length === 0 ? '' : `(${given.join(', ')})`;
}

/**
 * Every field of the type and, recursively, of the types it leads to. A type already open on
 * the way down is selected with `__typename` only: the field that leads back to it still
 * resolves, and the document stays finite.
 */
function selection(schema: GraphQLSchema, type: GraphQLOutputType, path: Set<string>): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  const concrete = isAbstractType(named) ? schema.getPossibleTypes(named) : [named];
  const fragments = concrete.map((object) => {
    if (path.has(object.name)) return `... on ${object.name} { __typename }`;
    const inner = new Set(path).add(object.name);
    const fields = Object.values(object.getFields()).map(
      (field) =>
        `${field.name}${requiredArguments(field.args)} ${selection(schema, field.type, inner)}`,
    );
    return `... on ${object.name} { __typename ${fields.join(' ')} }`;
  });
  return `{ ${fragments.join(' ')} }`;
}

/**
 * A value of the type with every field filled in, cut where `selection` cuts. At an abstract
 * type it is the `variant`-th possible type, so that the variants together cover them all.
 */
function samplePayload(
  schema: GraphQLSchema,
  type: GraphQLOutputType,
  variant: number,
  path: Set<string>,
): unknown {
  if (isNonNullType(type)) return samplePayload(schema, type.ofType, variant, path);
  if (isListType(type)) return [samplePayload(schema, type.ofType, variant, path)];
  if (isScalarType(type)) return sampleScalar(type, (value) => type.serialize(value));
  if (isEnumType(type)) return type.getValues()[0]?.value;
  const possible = isAbstractType(type) ? schema.getPossibleTypes(type) : [type];
  const object = possible[variant % possible.length];
  const value: Record<string, unknown> = { __typename: object.name };
  if (path.has(object.name)) return value;
  const inner = new Set(path).add(object.name);
  for (const field of Object.values(object.getFields())) {
    value[field.name] = samplePayload(schema, field.type, variant, inner);
  }
  return value;
}

/** What a subscriber's context holds over graphql-ws (GraphqlWsServer's onSubscribe). */
function subscriberContext(): RequestContext & Record<string, unknown> {
  return {
    principal: { kind: 'mailbox', mailbox: 'first-subscriber', tokenDigest: 'digest' },
    requestId: 'connection:1',
    socket: {},
  };
}

/** The context as `who` sees it: every use of it is written down in `uses`. */
function watched(context: object, who: string, uses: Set<string>): object {
  const use = (what: string, key?: string | symbol): void => {
    uses.add(`${who} ${what}${key === undefined ? '' : ` "${String(key)}"`} of the context`);
  };
  return new Proxy(context, {
    get(target, key, receiver) {
      use('reads', key);
      return Reflect.get(target, key, receiver) as unknown;
    },
    set(target, key, value) {
      use('writes', key);
      return Reflect.set(target, key, value);
    },
    has(target, key) {
      use('looks for', key);
      return Reflect.has(target, key);
    },
    deleteProperty(target, key) {
      use('deletes', key);
      return Reflect.deleteProperty(target, key);
    },
    defineProperty(target, key, descriptor) {
      use('defines', key);
      return Reflect.defineProperty(target, key, descriptor);
    },
    getOwnPropertyDescriptor(target, key) {
      use('reads', key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      use('lists the keys');
      return Reflect.ownKeys(target);
    },
  });
}

/**
 * Hands every resolver of the shared part (field resolvers, `isTypeOf`, `resolveType`) a
 * watched context of its own, and notes which fields resolved. Returns the undo.
 */
function instrument(
  schema: GraphQLSchema,
  types: Iterable<GraphQLCompositeType>,
  uses: Set<string>,
  resolved: Set<string>,
): () => void {
  const undo: Array<() => void> = [];
  const subscription = schema.getSubscriptionType();
  for (const type of [...(subscription ? [subscription] : []), ...types]) {
    if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`;
        const original = field.resolve;
        field.resolve = (
          source: unknown,
          args: Record<string, unknown>,
          context: object,
          info: GraphQLResolveInfo,
        ): unknown => {
          resolved.add(coordinate);
          return (original ?? defaultFieldResolver)(
            source,
            args,
            watched(context, coordinate, uses),
            info,
          );
        };
        undo.push(() => (field.resolve = original));
      }
      const isTypeOf = type.isTypeOf;
      if (isTypeOf) {
        type.isTypeOf = (source: unknown, context: object, info: GraphQLResolveInfo) =>
          isTypeOf(source, watched(context, `${type.name}.isTypeOf`, uses), info);
        undo.push(() => (type.isTypeOf = isTypeOf));
      }
    } else if (isAbstractType(type) && type.resolveType) {
      const resolveType = type.resolveType;
      type.resolveType = (value: unknown, context: object, info, abstractType) =>
        resolveType(value, watched(context, `${type.name}.resolveType`, uses), info, abstractType);
      undo.push(() => (type.resolveType = resolveType));
    }
  }
  return () => undo.forEach((step) => step());
}

describe('subscription payloads are resolved without the context', () => {
  let redisServer: RedisServer;
  let service: TestApp;
  let schema: GraphQLSchema;
  let types: Map<string, GraphQLCompositeType>;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    service = await startTestApp(redisServer.url);
    schema = service.app.get(GraphQLSchemaHost).schema;
    types = payloadTypes(schema);
  });

  afterAll(async () => {
    await service.close();
    await redisServer.destroy();
  });

  it('walks from every subscription to the types the feeds push', () => {
    expect(subscriptionFields(schema).map((field) => field.name)).toEqual(
      expect.arrayContaining(['mailboxMessages', 'topicMessages', 'deliveryStatusChanged']),
    );
    expect([...types.keys()]).toEqual(
      expect.arrayContaining(['Message', 'DeliveryConfirmation', 'DeliveryAttempt']),
    );
  });

  // The run below sees only the reads its samples reach; a parameter that hands over the
  // context is a read waiting for the right arguments or payload.
  it('declares no context parameter on any resolver of a payload type', () => {
    const coordinates = new Set(coordinatesOf(types.values()));
    const declared = fieldResolverMethods(service.app.get(ModulesContainer))
      .filter(({ coordinate }) => coordinates.has(coordinate))
      .flatMap(({ coordinate, method, parameters }) =>
        parameters
          .filter((key) => !EVENT_ONLY_PARAMETERS.has(key.slice(0, key.lastIndexOf(':'))))
          .map(
            (key) =>
              `${coordinate} (${method}) takes parameter ${key.slice(key.lastIndexOf(':') + 1)} from the context (@Context() or a custom decorator)`,
          ),
      );
    // A subscription's `resolve` option is called (event, args, context, info).
    const resolving = subscriptionFields(schema)
      .filter((field) => (field.resolve?.length ?? 0) > 2)
      .map((field) => `Subscription.${field.name}: its resolve option takes the context`);
    expect([...declared, ...resolving]).toEqual([]);
  });

  // Each event executed as sharedSubscribe executes it, through the application's own schema:
  // Nest's wrappers, the global guard (which runs on field resolvers too) and field middleware
  // all see the watched context, as does a plain `resolve` function.
  it('resolves every field of every subscription payload without touching the context', async () => {
    const uses = new Set<string>();
    const resolved = new Set<string>();
    const errors: string[] = [];
    const variants = Math.max(
      1,
      ...Object.values(schema.getTypeMap())
        .filter(isAbstractType)
        .map((type) => schema.getPossibleTypes(type).length),
    );
    const fields = subscriptionFields(schema);
    const ownResolve = new Set(fields.filter((field) => field.resolve).map((field) => field.name));
    const undo = instrument(schema, types.values(), uses, resolved);
    try {
      for (const field of fields) {
        const document = parse(
          `subscription { ${field.name}${requiredArguments(field.args)} ${selection(schema, field.type, new Set())} }`,
        );
        for (let variant = 0; variant < variants; variant += 1) {
          const payload = samplePayload(schema, field.type, variant, new Set());
          // What the feed pushes: the payload itself when the field resolves it from the
          // event, else an event carrying it under the field's name.
          const event = ownResolve.has(field.name) ? payload : { [field.name]: payload };
          const result = await execute({
            schema,
            document,
            rootValue: event,
            contextValue: subscriberContext(),
          });
          for (const error of result.errors ?? []) {
            errors.push(`${field.name} at ${error.path?.join('.') ?? '?'}: ${error.message}`);
          }
        }
      }
    } finally {
      undo();
    }
    expect([...uses]).toEqual([]);
    expect(errors).toEqual([]);
    // Every field of the shared part ran: a field the samples missed would be unchecked.
    const expected = [
      ...fields.map((field) => `Subscription.${field.name}`),
      ...coordinatesOf([...types.values()].filter(isObjectType)),
    ];
    expect(expected.filter((coordinate) => !resolved.has(coordinate))).toEqual([]);
  });
});
