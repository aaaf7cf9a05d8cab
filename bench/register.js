// Lets Node run the TypeScript files of bench/ directly: each .ts file is transpiled by
// @swc/core (already a devDependency, for Jest) as it is required. No type checking here:
// `npm run typecheck` covers bench/ through the root tsconfig.json.
'use strict';

const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const OPTIONS = {
  sourceMaps: 'inline',
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
  module: { type: 'commonjs' },
};

Module._extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...OPTIONS, filename });
  module._compile(code, filename);
};
