#!/usr/bin/env node
// nginx in front of local els-worker replicas (see docs/guides/scale-replicas.md).
//
//   node infra/nginx/render-local.mjs --listen 8080 127.0.0.1:6001 127.0.0.1:6002 127.0.0.1:6003
//
// prints the URL and runs until SIGINT/SIGTERM. From code: `startLocalNginx({ upstreams, listenPort })`
// (ES modules import this file; CommonJS and jest require ./local-nginx.cjs).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const localNginx = require('./local-nginx.cjs');

export const { TEMPLATE_PATH, findNginx, renderLocalConfig, startLocalNginx } = localNginx;

async function main(argv) {
  const upstreams = [];
  let listenPort = 0;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--listen') listenPort = Number(argv[(i += 1)]);
    else if (argv[i].startsWith('--listen=')) listenPort = Number(argv[i].slice('--listen='.length));
    else upstreams.push(argv[i]);
  }
  if (upstreams.length === 0 || !Number.isInteger(listenPort)) {
    process.stderr.write('usage: render-local.mjs [--listen <port>] <host:port>...\n');
    process.exit(2);
  }
  const nginx = await startLocalNginx({ upstreams, listenPort });
  process.stdout.write(`nginx ${nginx.url} -> ${upstreams.join(', ')} (config ${nginx.configPath})\n`);
  const stop = () => nginx.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
