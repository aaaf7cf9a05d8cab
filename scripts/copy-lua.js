// Copies the Lua scripts next to the compiled code (dist/redis/lua), where the service loads them.
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
cpSync(join(root, 'src', 'redis', 'lua'), join(root, 'dist', 'redis', 'lua'), { recursive: true });
